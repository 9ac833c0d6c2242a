// Package event defines the audit event that flows from parsers to outputs and
// out of GET /audit-logs, and the Position of the source line it came from.
//
// It is a leaf package: it imports nothing else of auditship but
// internal/jsonenc, the details encoder, itself a leaf.
package event
