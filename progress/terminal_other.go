//go:build !(aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || zos || windows)

package progress

// isTerminal is false where terminals cannot be detected.
func isTerminal(uintptr) bool { return false }
