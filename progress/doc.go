// Package progress shows how a batch of requests is going: a bar that
// redraws itself on a terminal, or a plain line every few seconds in a log
// file or CI output, so that a long run is never silent and never floods a
// log.
//
// Package [github.com/deluge-go/deluge/llm] writes nothing by itself: it
// hands snapshots of every batch ([llm.ProgressInfo]) to the function given
// with [llm.WithProgressFunc], and a program that wants a display opts in
// with this package:
//
//	client, err := llm.NewClient("azure-gpt-4o",
//		llm.WithProgressFunc(progress.Auto(os.Stderr)),
//		llm.WithProgressInterval(progress.BarInterval))
//
// [Bar] and [Log] can also be fed by hand, as the deluge command does to
// count the lines of its input file.
//
// The bar is drawn by this package rather than a terminal library so that
// a program importing deluge inherits no terminal modules.
package progress
