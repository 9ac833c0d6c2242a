data_dir = "data"

input "file" "app" {
  paths = ["logs/*.log"]
}

query {
  output = "nowhere"
}
