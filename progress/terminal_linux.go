//go:build aix || linux || solaris || zos

package progress

import "golang.org/x/sys/unix"

const ioctlReadTermios = unix.TCGETS
