// Package contentdb is the loaded content filtration database (DESIGN §7):
// rules, classifier tokens, fuzzy and image signatures. A *DB is immutable once
// loaded; the server swaps whole databases atomically.
package contentdb

import "time"

// DB is one loaded, verified database version.
type DB struct {
	// Version is the database version from the manifest, e.g. "2026112201".
	Version string
	// Created is the manifest's creation time.
	Created time.Time
}

// Empty returns the database used before any bundle is loaded.
func Empty() *DB { return &DB{Version: "none"} }
