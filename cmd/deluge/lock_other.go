//go:build !unix

package main

import "os"

// lockFile is a no-op where flock(2) is unavailable.
func lockFile(*os.File) error { return nil }
