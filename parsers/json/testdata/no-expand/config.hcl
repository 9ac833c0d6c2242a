expand_dotted_keys = false
