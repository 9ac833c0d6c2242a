pattern = "^user=(?P<user>\\S+) action=(?P<action>\\S*)( (?P<rest>.*))?$"
