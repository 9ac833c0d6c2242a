pattern = "^(?:node=(?P<node>\\S+) )?type=(?P<type>\\S+) msg=audit\\((?P<epoch>\\d+\\.\\d+):(?P<serial>\\d+)\\): ?(?P<body>.*)$"
