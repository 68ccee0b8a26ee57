// Package progress renders the progress of a batch of requests: a bar when
// the output is a terminal, a plain line every few seconds when it is not
// (a log file, CI), so a long run is never silent and never floods a log.
//
// The caller samples its counters into a Snapshot and a Reporter renders
// them from one goroutine; the package knows nothing about requests.
package progress
