package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// inFlightMargin is how long before a kill a reply must have been
// completed by the server to count as delivered: on loopback a reply is
// read within microseconds, so one completed this long before the kill
// reached deluge, and paying it again means it was lost there.
const inFlightMargin = 100 * time.Millisecond

// signalDelivery is the time allowed for a signal to reach deluge and be
// handled: a request admitted before that may still arrive after the
// signal was sent.
const signalDelivery = 50 * time.Millisecond

// report is what a soak found.
type report struct {
	Prompts       int            `json:"prompts"`
	FaultRate     float64        `json:"fault_rate"`
	Concurrency   int            `json:"concurrency"`
	RPM           int            `json:"rpm"`
	Seed          uint64         `json:"seed"`
	Runs          int            `json:"runs"`
	EarlyExits    int            `json:"early_exits"`
	Interruptions []interruption `json:"interruptions"`
	Elapsed       string         `json:"elapsed"`

	// Server side.
	Requests int         `json:"requests"`
	ByStatus map[int]int `json:"by_status"`

	// The output file.
	Lines        int `json:"lines"`
	ErrorLines   int `json:"error_lines"`
	Missing      int `json:"missing"`       // IDs without a successful line
	Duplicated   int `json:"duplicated"`    // IDs with more than one
	Unknown      int `json:"unknown_lines"` // lines that are not a result of these prompts
	Repairs      int `json:"repairs"`       // torn last lines repaired on resume
	TornInOutput int `json:"torn_lines"`    // lines that are not whole JSON

	// What was paid twice: prompts answered (200) more than once, and the
	// extra replies, by cause.
	PaidTwicePrompts int `json:"paid_twice_prompts"`
	ExtraReplies     int `json:"extra_replies"`
	InFlightAtKill   int `json:"extra_in_flight_at_kill"`
	// AnsweredAfterKill is the part of InFlightAtKill the server
	// completed after the signal was sent; the rest it completed less than
	// inFlightMargin before.
	AnsweredAfterKill int `json:"extra_answered_after_kill"`
	LostAfterArrival  int `json:"extra_lost_after_arrival"`
	AfterSIGTERM      int `json:"extra_after_sigterm"`
	OtherExtra        int `json:"extra_other"`
	// SentAfterSIGTERM counts prompts first sent between a SIGTERM
	// (plus signalDelivery) and the exit of the run it stopped.
	SentAfterSIGTERM int `json:"sent_after_sigterm"`
}

// OK reports whether the soak met its guarantees.
func (r *report) OK() bool {
	return r.Missing == 0 && r.Duplicated == 0 && r.Unknown == 0 && r.TornInOutput == 0 &&
		r.LostAfterArrival == 0 && r.AfterSIGTERM == 0 && r.OtherExtra == 0 && r.SentAfterSIGTERM == 0
}

// checkOutput reads the results file: every prompt's ID must have exactly
// one successful line, and every line must be a whole result.
func (r *report) checkOutput(path string, n int) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	ok := make([]int, n)
	br := bufio.NewReaderSize(f, 1<<20)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			r.Lines++
			var res struct {
				ID    string          `json:"id"`
				Error json.RawMessage `json:"error"`
			}
			if line[len(line)-1] != '\n' || json.Unmarshal(line, &res) != nil {
				r.TornInOutput++
			} else if k, perr := strconv.Atoi(strings.TrimPrefix(res.ID, "p")); perr != nil || k < 1 || k > n || !strings.HasPrefix(res.ID, "p") {
				r.Unknown++
			} else if string(res.Error) == "null" || len(res.Error) == 0 {
				ok[k-1]++
			} else {
				r.ErrorLines++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	for _, c := range ok {
		switch {
		case c == 0:
			r.Missing++
		case c > 1:
			r.Duplicated++
		}
	}
	return nil
}

// account classifies the replies paid more than once, and looks for
// prompts sent after a SIGTERM. A reply paid again is charged to the run
// that sent the request of its first reply: the first interruption after
// that request arrived. A SIGKILL that came less than inFlightMargin after
// the reply was completed (or before) left it in flight: the server
// answered a process that no longer read it. Otherwise the run had the
// reply and lost it; after a SIGTERM, which lets the requests in flight
// finish, any reply paid again was lost.
func (r *report) account(prompts []promptLog) {
	irs := slices.Clone(r.Interruptions)
	slices.SortFunc(irs, func(a, b interruption) int { return a.At.Compare(b.At) })
	if *verbose {
		for _, ir := range irs {
			fmt.Fprintf(os.Stderr, "%s at %s, exited %s\n", ir.Signal, ir.At.Format("15:04:05.000"), ir.Exited.Format("15:04:05.000"))
		}
	}
	for _, p := range prompts {
		for _, ir := range irs {
			if ir.Signal == "terminated" && p.firstArrival.After(ir.At.Add(signalDelivery)) && !p.firstArrival.After(ir.Exited) {
				r.SentAfterSIGTERM++
				if *verbose {
					fmt.Fprintf(os.Stderr, "after SIGTERM: first arrival %s, SIGTERM %s, exit %s\n", p.firstArrival.Format("15:04:05.000"), ir.At.Format("15:04:05.000"), ir.Exited.Format("15:04:05.000"))
				}
			}
		}
		if p.paid < 2 {
			continue
		}
		extra := p.paid - 1
		r.PaidTwicePrompts++
		r.ExtraReplies += extra
		// The run that sent it: the first whose exit is not before the
		// request arrived (a request can arrive just after the signal
		// was sent, before the process died).
		i, _ := slices.BinarySearchFunc(irs, p.paidArrival, func(ir interruption, t time.Time) int { return ir.Exited.Compare(t) })
		switch {
		case i == len(irs):
			r.OtherExtra += extra
			if *verbose {
				fmt.Fprintf(os.Stderr, "other: arrived %s paid %s paid %d arrivals %d\n",
					p.paidArrival.Format("15:04:05.000"), p.firstPaid.Format("15:04:05.000"), p.paid, p.arrivals)
			}
		case irs[i].Signal == "terminated":
			r.AfterSIGTERM += extra
			if *verbose {
				fmt.Fprintf(os.Stderr, "paid again after SIGTERM: arrived %s paid %s SIGTERM %s exit %s paid %d arrivals %d\n",
					p.paidArrival.Format("15:04:05.000"), p.firstPaid.Format("15:04:05.000"), irs[i].At.Format("15:04:05.000"), irs[i].Exited.Format("15:04:05.000"), p.paid, p.arrivals)
			}
		case irs[i].At.Sub(p.firstPaid) < inFlightMargin:
			r.InFlightAtKill += extra
			if !p.firstPaid.Before(irs[i].At) {
				r.AnsweredAfterKill += extra
			}
		default:
			r.LostAfterArrival += extra
			if *verbose {
				fmt.Fprintf(os.Stderr, "lost: arrived %s paid %s kill %s (%v before) paid %d arrivals %d\n",
					p.paidArrival.Format("15:04:05.000"), p.firstPaid.Format("15:04:05.000"), irs[i].At.Format("15:04:05.000"), irs[i].At.Sub(p.firstPaid), p.paid, p.arrivals)
			}
		}
	}
}

func (r *report) print(w io.Writer) {
	kills, terms := 0, 0
	for _, ir := range r.Interruptions {
		if ir.Signal == "killed" {
			kills++
		} else {
			terms++
		}
	}
	fmt.Fprintf(w, "deluge-soak: %d prompts, %.0f%% faults, %d SIGKILL + %d SIGTERM, %d runs, %s (--rpm %d, --concurrency %d)\n",
		r.Prompts, r.FaultRate*100, kills, terms, r.Runs, r.Elapsed, r.RPM, r.Concurrency)
	fmt.Fprintf(w, "  server: %d requests, by status %v\n", r.Requests, r.ByStatus)
	fmt.Fprintf(w, "  output: %d lines (%d error lines from earlier runs), %d IDs missing, %d IDs with two successes, %d torn or foreign lines; %d torn tails repaired on resume\n",
		r.Lines, r.ErrorLines, r.Missing, r.Duplicated, r.TornInOutput+r.Unknown, r.Repairs)
	fmt.Fprintf(w, "  paid twice: %d prompts, %d extra replies (%.3f%% of prompts): %d in flight at a SIGKILL (%d answered after it), %d lost after arrival, %d after a SIGTERM, %d other\n",
		r.PaidTwicePrompts, r.ExtraReplies, 100*float64(r.ExtraReplies)/float64(max(r.Prompts, 1)), r.InFlightAtKill, r.AnsweredAfterKill, r.LostAfterArrival, r.AfterSIGTERM, r.OtherExtra)
	fmt.Fprintf(w, "  sent after a SIGTERM: %d\n", r.SentAfterSIGTERM)
	if r.OK() {
		fmt.Fprintln(w, "  OK: every ID exactly once, nothing lost after arrival, nothing new sent after SIGTERM")
	} else {
		fmt.Fprintln(w, "  FAILED")
	}
}
