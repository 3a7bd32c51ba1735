from . import test_channel_confirmation
