# filled by issue 7 work
