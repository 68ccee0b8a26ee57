package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

const (
	promptPrefix = "soak prompt "
	apiKey       = "soak-key-0123456789"
	model        = "azure-gpt-4o-mini"
	deployment   = "gpt-4o-mini"
)

type config struct {
	deluge      string
	n           int
	faults      float64
	kills       int
	terms       int
	concurrency int
	rpm         int
	timeout     time.Duration
	latency     time.Duration
	dir         string
	seed        uint64
	jsonOut     string
}

// verbose prints the detail of each anomaly, and deluge's stderr.
var verbose = flag.Bool("v", false, "print the details of every anomaly, and the tail of deluge's stderr")

func main() {
	var c config
	flag.StringVar(&c.deluge, "deluge", "", "the deluge binary to run (go build -o /tmp/deluge ./cmd/deluge)")
	flag.IntVar(&c.n, "n", 100_000, "prompts")
	flag.Float64Var(&c.faults, "faults", 0.2, "fraction of requests the emulator fails (429, 500, 503, resets, stalls)")
	flag.IntVar(&c.kills, "kills", 20, "SIGKILLs during the run")
	flag.IntVar(&c.terms, "terms", 5, "SIGTERMs during the run")
	flag.IntVar(&c.concurrency, "concurrency", 64, "deluge run --concurrency")
	flag.IntVar(&c.rpm, "rpm", 0, "deluge run --rpm (0: no client limit); set it below what the machine can send to make prompts queue for it, as under a real quota")
	flag.DurationVar(&c.timeout, "timeout", 30*time.Minute, "stop (and fail) after this long")
	flag.DurationVar(&c.latency, "latency", 2*time.Millisecond, "emulated latency (plus up to as much jitter)")
	flag.StringVar(&c.dir, "dir", "", "working directory (default: a temporary one, removed afterwards)")
	flag.Uint64Var(&c.seed, "seed", 1, "seed of the kill schedule and of the emulator's faults")
	flag.StringVar(&c.jsonOut, "json", "", "also write the report as JSON to this file")
	flag.Parse()
	if c.deluge == "" {
		fmt.Fprintln(os.Stderr, "deluge-soak: -deluge is required: go build -o /tmp/deluge ./cmd/deluge")
		os.Exit(2)
	}
	r, err := soak(c)
	if r != nil {
		r.print(os.Stdout)
		if c.jsonOut != "" {
			b, _ := json.MarshalIndent(r, "", "  ")
			if werr := os.WriteFile(c.jsonOut, b, 0o644); werr != nil && err == nil {
				err = werr
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "deluge-soak:", err)
		os.Exit(1)
	}
	if !r.OK() {
		os.Exit(1)
	}
}

// interruption is one signal sent to a run.
type interruption struct {
	Signal string    `json:"signal"`
	At     time.Time `json:"at"`
	Exited time.Time `json:"exited"`
	Done   int       `json:"done_before"` // prompts paid when it was sent
}

func soak(c config) (*report, error) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	dir := c.dir
	if dir == "" {
		d, err := os.MkdirTemp("", "deluge-soak-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	in := filepath.Join(dir, "prompts.jsonl")
	out := filepath.Join(dir, "results.jsonl")
	cacheFile := filepath.Join(dir, "cache.db")
	if err := writePrompts(in, c.n); err != nil {
		return nil, err
	}
	// The faults: a fifth each of 429, 500, 503 and resets, and a tenth
	// of the rest as stalls (bounded by --timeout on the client).
	f := c.faults
	h := azuretest.NewHandler(
		azuretest.WithAPIKeys(apiKey),
		azuretest.WithDeployment(deployment, ""),
		azuretest.WithLatency(c.latency, c.latency),
		azuretest.WithSeed(int64(c.seed)),
		azuretest.WithFaults(azuretest.Faults{
			Rate429: f * 0.225, Rate500: f * 0.225, Rate503: f * 0.225, RateReset: f * 0.225, RateStall: f * 0.1,
			RetryAfter: 20 * time.Millisecond,
		}),
	)
	led := newLedger(h, c.n)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: led}
	go srv.Serve(ln)
	defer func() {
		h.Close()
		srv.Close()
	}()
	url := "http://" + ln.Addr().String()

	rng := rand.New(rand.NewPCG(c.seed, 0x50a1))
	// The interruptions, in random order, at random points spread over
	// the run: the k-th when about k/(total+1) of the prompts are paid.
	signals := make([]syscall.Signal, 0, c.kills+c.terms)
	for range c.kills {
		signals = append(signals, syscall.SIGKILL)
	}
	for range c.terms {
		signals = append(signals, syscall.SIGTERM)
	}
	rng.Shuffle(len(signals), func(i, j int) { signals[i], signals[j] = signals[j], signals[i] })
	step := float64(c.n) / float64(len(signals)+1)

	r := &report{Prompts: c.n, FaultRate: c.faults, Concurrency: c.concurrency, RPM: c.rpm, Seed: c.seed}
	start := time.Now()
	var stderr bytes.Buffer
	for k, sig := range signals {
		at := int((float64(k) + 0.5 + rng.Float64()) * step)
		cmd, err := startRun(ctx, c, url, in, out, cacheFile, dir, &stderr)
		if err != nil {
			return r, err
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		// Wait until `at` prompts are paid, then signal.
		early := false
	wait:
		for {
			select {
			case <-exited:
				early = true
				break wait
			case <-ctx.Done():
				cmd.Process.Kill()
				<-exited
				return r, fmt.Errorf("timed out after %v (run %d)", c.timeout, r.Runs+1)
			case <-time.After(2 * time.Millisecond):
			}
			if led.paidPrompts() >= at {
				break
			}
		}
		r.Runs++
		if early {
			// The run ended before its signal (all done, or failed): the
			// remaining signals are not sent.
			r.EarlyExits++
			break
		}
		ir := interruption{Signal: sig.String(), At: time.Now(), Done: led.paidPrompts()}
		cmd.Process.Signal(sig)
		select {
		case <-exited:
		case <-ctx.Done():
			cmd.Process.Kill()
			<-exited
			return r, fmt.Errorf("timed out waiting for the run to exit after %v", sig)
		}
		ir.Exited = time.Now()
		r.Interruptions = append(r.Interruptions, ir)
	}
	// Then rerun to completion: the last run must succeed for every
	// prompt (a prompt failing every attempt fails the run; rerun again).
	for range 10 {
		cmd, err := startRun(ctx, c, url, in, out, cacheFile, dir, &stderr)
		if err != nil {
			return r, err
		}
		err = cmd.Wait()
		r.Runs++
		if err == nil {
			break
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 || ctx.Err() != nil {
			return r, fmt.Errorf("the final run failed: %v\n%s", err, tail(stderr.String(), 2000))
		}
	}
	r.Elapsed = time.Since(start).Round(time.Second).String()
	if *verbose {
		fmt.Fprintf(os.Stderr, "deluge's stderr:\n%s\n", tail(stderr.String(), 4000))
	}
	st := h.Stats()
	r.Requests = st.Requests
	r.ByStatus = st.ByStatus
	r.Repairs = strings.Count(stderr.String(), "removed a partial last line") + strings.Count(stderr.String(), "completed the last line")
	if err := r.checkOutput(out, c.n); err != nil {
		return r, err
	}
	r.account(led.snapshot())
	return r, nil
}

// startRun starts "deluge run" on the prompts.
func startRun(ctx context.Context, c config, url, in, out, cacheFile, home string, stderr io.Writer) (*exec.Cmd, error) {
	rpm := c.rpm
	if rpm <= 0 {
		rpm = 100_000_000
	}
	cmd := exec.CommandContext(ctx, c.deluge, "run", "-m", model, "-i", in, "-o", out, "--cache", cacheFile,
		"--rpm", fmt.Sprint(rpm), "--tpm", "1000000000", "--concurrency", fmt.Sprint(c.concurrency),
		"--max-attempts", "10", "--timeout", "1s", "-q")
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"XDG_CACHE_HOME=" + home,
		"NO_COLOR=1",
		"AZURE_OPENAI_ENDPOINT=" + url,
		"AZURE_OPENAI_API_KEY=" + apiKey,
	}
	cmd.Stdout = io.Discard
	cmd.Stderr = stderr
	return cmd, cmd.Start()
}

func writePrompts(path string, n int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for i := 1; i <= n; i++ {
		fmt.Fprintf(w, "{\"id\":\"p%06d\",\"prompt\":\"%s%d\"}\n", i, promptPrefix, i)
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
