//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTime returns the CPU time the process has used (all threads, user and
// system). On a shared machine it is the steadier measure of a client's
// own cost: time spent descheduled while other programs run is not
// counted, work on other threads (the garbage collector, the emulator's
// handlers) is.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
