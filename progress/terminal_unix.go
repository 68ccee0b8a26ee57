//go:build aix || darwin || dragonfly || freebsd || linux || netbsd || openbsd || solaris || zos

package progress

import "golang.org/x/sys/unix"

// isTerminal asks for the terminal attributes of fd, which only a terminal
// has (as golang.org/x/term does; that module is not imported, to keep
// terminal modules out of deluge's requirements).
func isTerminal(fd uintptr) bool {
	_, err := unix.IoctlGetTermios(int(fd), ioctlReadTermios)
	return err == nil
}
