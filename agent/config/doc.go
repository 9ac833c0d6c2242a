// Package config loads agent.hcl into a typed, validated [Config].
//
// Loading has two passes, as in HashiCorp's own tools: gohcl decodes the root
// into labelled blocks whose bodies are kept (`hcl:",remain"`); then each
// block's type selects its Go config type, which is filled with defaults and
// decoded from the body a second time. Every problem is an hcl.Diagnostic with
// a Subject range, so `auditship validate` can print `file:line:col`.
// Unknown attributes and blocks are errors (HCL suggests the nearest name).
//
// Relative paths in the file (data_dir, input paths, store paths) are resolved
// against the directory that holds the config file, so the agent behaves the
// same whatever its working directory.
package config
