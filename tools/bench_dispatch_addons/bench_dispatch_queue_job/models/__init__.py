from . import bench_dispatch_target
