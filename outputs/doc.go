// Package outputs defines how audit events are delivered ([Output]) and read
// back ([Searcher]). Implementations live in subpackages: sqlite (the embedded
// default store) and elasticsearch.
package outputs
