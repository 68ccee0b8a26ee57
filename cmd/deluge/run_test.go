package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/deluge-go/deluge/llm"
)

// fakeEngine answers jobs with reply, concurrency at a time, in the
// engine's shape: it pulls jobs from one goroutine and yields outcomes as
// they complete.
type fakeEngine struct {
	reply       func(ctx context.Context, j *job) (*llm.Response, error)
	concurrency int
	started     atomic.Int32
	mu          sync.Mutex
	jobs        []*job
}

func (f *fakeEngine) process(ctx context.Context, _ <-chan struct{}, jobs iter.Seq[*job]) iter.Seq[outcome] {
	return func(yield func(outcome) bool) {
		out := make(chan outcome)
		go func() {
			var wg sync.WaitGroup
			sem := make(chan struct{}, max(f.concurrency, 1))
			for j := range jobs {
				sem <- struct{}{}
				f.mu.Lock()
				f.jobs = append(f.jobs, j)
				f.mu.Unlock()
				f.started.Add(1)
				wg.Go(func() {
					defer func() { <-sem }()
					resp, err := f.reply(ctx, j)
					out <- outcome{job: j, resp: resp, err: err}
				})
			}
			wg.Wait()
			close(out)
		}()
		for o := range out {
			yield(o)
		}
	}
}

func (f *fakeEngine) stats() engineStats { return engineStats{Retries: 3, RateLimitHits: 2} }
func (f *fakeEngine) close() error       { return nil }

// echo answers "echo: <text>" like llmtest.Echo, costing 0.001.
func echo(_ context.Context, j *job) (*llm.Response, error) {
	last, _ := j.prompt.Conv.Last()
	return &llm.Response{Model: "clitest-small", Provider: "clitest", Completion: "echo: " + last.Text(),
		FinishReason: "stop", Usage: llm.Usage{InputTokens: 5, OutputTokens: 2}, Cost: 0.001, Attempts: 1}, nil
}

func prompts(n int) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, `{"id":"q%03d","prompt":"question %d"}`+"\n", i, i)
	}
	return b.String()
}

// readResults parses an output file, checking every line is whole.
func readResults(t *testing.T, path string) []result {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var out []result
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r result
		require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %q", sc.Text())
		out = append(out, r)
	}
	require.NoError(t, sc.Err())
	return out
}

// successCounts maps each ID to its number of successful lines.
func successCounts(rs []result) map[string]int {
	m := map[string]int{}
	for _, r := range rs {
		if r.Error == nil {
			m[r.ID]++
		}
	}
	return m
}

func TestRunWritesOneResultPerPrompt(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeTo(t, in, prompts(50))
	eng := &fakeEngine{reply: echo, concurrency: 8}
	r := cli{engine: eng}.run(t, "run", "-m", "clitest-small", "-i", in, "-o", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, r.stdout, "results go to the file, not stdout")

	rs := readResults(t, out)
	require.Len(t, rs, 50)
	counts := successCounts(rs)
	for i := 1; i <= 50; i++ {
		assert.Equal(t, 1, counts[fmt.Sprintf("q%03d", i)])
	}
	for _, res := range rs {
		assert.Equal(t, "echo: question "+strings.TrimLeft(res.ID[1:], "0"), res.Completion)
		assert.Equal(t, "stop", res.FinishReason)
	}
	assert.Contains(t, r.stderr, "succeeded       50")
	assert.Contains(t, r.stderr, "retries         3  (rate-limit hits 2)")
	assert.Contains(t, r.stderr, "cost            $0.0500")
	assert.Contains(t, r.stderr, "in 250 (cached 0), out 100")
}

func TestRunStdinToStdout(t *testing.T) {
	eng := &fakeEngine{reply: echo, concurrency: 1}
	r := cli{stdin: prompts(3), engine: eng}.run(t, "run", "-m", "clitest-small", "--quiet")
	require.Equal(t, exitOK, r.code, r.stderr)
	assert.Empty(t, r.stderr, "--quiet prints no summary")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	assert.Len(t, lines, 3)
}

func TestRunMalformedAndDuplicateLines(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeTo(t, in, `{"id":"a","prompt":"one"}
{"id":"b","prompt":
{"id":"a","prompt":"again"}
{"id":"c","prompt":"three","model":"clitest-smal"}

{"prompt":"no id"}
`)
	eng := &fakeEngine{reply: echo, concurrency: 2}
	r := cli{engine: eng}.run(t, "run", "-m", "clitest-small", "-i", in, "-o", out)
	assert.Equal(t, exitFailures, r.code, "malformed lines make the run exit 1")
	assert.Contains(t, r.stderr, "line 2: invalid JSON")
	assert.Contains(t, r.stderr, `line 3: id "a" already appeared on line 1: skipped`)
	assert.Contains(t, r.stderr, `line 4: unknown model "clitest-smal" (did you mean "clitest-small"`)
	assert.Regexp(t, `failed\s+3\s+\(invalid_input 2, duplicate_id 1\)`, r.stderr)

	rs := readResults(t, out)
	byID := map[string]result{}
	for _, res := range rs {
		_, dup := byID[res.ID]
		require.False(t, dup, "one line per id: %s", res.ID)
		byID[res.ID] = res
	}
	assert.Len(t, byID, 4, "a, 2 (malformed), c (unknown model), 6 (no id)")
	assert.Nil(t, byID["a"].Error)
	require.NotNil(t, byID["2"].Error)
	assert.Equal(t, "invalid_input", byID["2"].Error.Code)
	assert.Equal(t, 2, byID["2"].Line)
	require.NotNil(t, byID["c"].Error)
	assert.Equal(t, "invalid_input", byID["c"].Error.Code)
	assert.Equal(t, "echo: no id", byID["6"].Completion, "a line without id gets its line number")
	assert.Len(t, eng.jobs, 2, "only valid, new prompts reach the engine")
}

func TestRunPerLineOptions(t *testing.T) {
	eng := &fakeEngine{reply: echo, concurrency: 1}
	r := cli{stdin: `{"id":"x","prompt":"p","model":"clitest-big","max_tokens":9,"temperature":0.5}` + "\n" +
		`{"id":"y","prompt":"p"}` + "\n", engine: eng}.run(t, "run", "-m", "clitest-small", "--system", "SYS", "-q")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Len(t, eng.jobs, 2)
	x, y := eng.jobs[0], eng.jobs[1]
	assert.Equal(t, "clitest-big", x.model)
	assert.Len(t, x.opts, 2, "max_tokens and temperature become call options")
	assert.Equal(t, "", y.model, "no override: the client's model (or weights) decide")
	assert.Empty(t, y.opts)
	assert.Equal(t, "SYS", y.prompt.Conv.At(0).Text())
}

func TestRunErrorResults(t *testing.T) {
	eng := &fakeEngine{concurrency: 1, reply: func(ctx context.Context, j *job) (*llm.Response, error) {
		if j.prompt.ID == "q002" {
			return nil, &llm.Error{Code: llm.CodeRateLimited, Provider: "clitest", Model: "clitest-small",
				StatusCode: 429, Message: "slow down"}
		}
		return echo(ctx, j)
	}}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	r := cli{stdin: prompts(3), engine: eng}.run(t, "run", "-m", "clitest-small", "-o", out)
	assert.Equal(t, exitFailures, r.code)
	assert.Regexp(t, `failed\s+1\s+\(rate_limited 1\)`, r.stderr)
	rs := readResults(t, out)
	require.Len(t, rs, 3)
	for _, res := range rs {
		if res.ID == "q002" {
			require.NotNil(t, res.Error)
			assert.Equal(t, "rate_limited", res.Error.Code)
			assert.Equal(t, 429, res.Error.Status)
			assert.Equal(t, "clitest", res.Provider)
		}
	}

	// A rerun sends only the failed prompt, and succeeds.
	eng2 := &fakeEngine{reply: echo, concurrency: 1}
	r = cli{stdin: prompts(3), engine: eng2}.run(t, "run", "-m", "clitest-small", "-o", out)
	assert.Equal(t, exitOK, r.code, r.stderr)
	require.Len(t, eng2.jobs, 1)
	assert.Equal(t, "q002", eng2.jobs[0].prompt.ID)
	assert.Contains(t, r.stderr, "skipped         2 already done in "+out)
	counts := successCounts(readResults(t, out))
	assert.Equal(t, map[string]int{"q001": 1, "q002": 1, "q003": 1}, counts)
}

func TestRunStopsOnConfigFailures(t *testing.T) {
	eng := &fakeEngine{concurrency: 1, reply: func(_ context.Context, j *job) (*llm.Response, error) {
		return nil, &llm.Error{Code: llm.CodeAuthentication, Provider: "azure-foundry", StatusCode: 401, Message: "bad key"}
	}}
	out := filepath.Join(t.TempDir(), "out.jsonl")
	r := cli{stdin: prompts(100), engine: eng}.run(t, "run", "-m", "clitest-small", "-o", out)
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `the first 8 requests all failed with "authentication"`)
	assert.Contains(t, r.stderr, "AZURE_OPENAI_API_KEY")
	assert.Less(t, len(readResults(t, out)), 20, "the run stopped early")
}

func TestRunInterruptFinishesInFlight(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	out := filepath.Join(dir, "out.jsonl")
	writeTo(t, in, prompts(20))

	release := make(chan struct{})
	eng := &fakeEngine{concurrency: 3, reply: func(ctx context.Context, j *job) (*llm.Response, error) {
		<-release
		return echo(ctx, j)
	}}
	sigs := make(chan os.Signal, 1)
	go func() {
		for eng.started.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		sigs <- syscall.SIGINT
		time.Sleep(50 * time.Millisecond) // let dispatch stop before answering
		close(release)
	}()
	r := cli{engine: eng, signals: sigs}.run(t, "run", "-m", "clitest-small", "-i", in, "-o", out)
	assert.Equal(t, exitInterrupted, r.code, r.stderr)
	assert.Contains(t, r.stderr, "finishing the requests in flight")
	assert.Contains(t, r.stderr, "interrupted")
	rs := readResults(t, out)
	assert.Len(t, rs, int(eng.started.Load()), "every request in flight was written")
	assert.LessOrEqual(t, len(rs), 4, "dispatch stopped at the interrupt")

	// Rerun: the rest, nothing twice.
	r = cli{engine: &fakeEngine{reply: echo, concurrency: 4}}.run(t, "run", "-m", "clitest-small", "-i", in, "-o", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	counts := successCounts(readResults(t, out))
	assert.Len(t, counts, 20)
	for id, n := range counts {
		assert.Equal(t, 1, n, id)
	}
}

func TestRunSecondInterruptAbandonsInFlight(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.jsonl")
	eng := &fakeEngine{concurrency: 2, reply: func(ctx context.Context, j *job) (*llm.Response, error) {
		if j.prompt.ID == "q001" {
			return echo(ctx, j)
		}
		<-ctx.Done()
		return nil, &llm.Error{Code: llm.CodeCanceled, Err: ctx.Err()}
	}}
	sigs := make(chan os.Signal, 2)
	go func() {
		for eng.started.Load() < 3 {
			time.Sleep(time.Millisecond)
		}
		sigs <- syscall.SIGTERM
		time.Sleep(20 * time.Millisecond)
		sigs <- syscall.SIGINT
	}()
	r := cli{stdin: prompts(10), engine: eng, signals: sigs}.run(t, "run", "-m", "clitest-small", "-o", out)
	assert.Equal(t, exitInterrupted, r.code, r.stderr)
	assert.Contains(t, r.stderr, "abandoning the requests in flight")
	// q001 answered; every other job the engine took was abandoned.
	assert.Regexp(t, fmt.Sprintf(`not run\s+%d \(interrupted`, eng.started.Load()-1), r.stderr)
	rs := readResults(t, out)
	require.Len(t, rs, 1, "abandoned requests are not written, so a rerun sends them")
	assert.Equal(t, "q001", rs[0].ID)
}

func TestRunUsageErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	writeTo(t, in, prompts(1))
	eng := &fakeEngine{reply: echo}
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no model", []string{"run", "-i", in}, "run needs a model"},
		{"unknown model", []string{"run", "-m", "clitest-smol", "-i", in}, `unknown model "clitest-smol" (did you mean "clitest-small"`},
		{"missing input", []string{"run", "-m", "clitest-small", "-i", filepath.Join(dir, "nope.jsonl")}, "cannot read input"},
		{"output dir missing", []string{"run", "-m", "clitest-small", "-i", in, "-o", filepath.Join(dir, "no", "out.jsonl")}, "cannot write output"},
		{"output is input", []string{"run", "-m", "clitest-small", "-i", in, "-o", in}, "is the input file"},
		{"bad rpm", []string{"run", "-m", "clitest-small", "-i", in, "--rpm", "0"}, "--rpm 0: must be at least 1"},
		{"bad temperature", []string{"run", "-m", "clitest-small", "-i", in, "--temperature", "3"}, "--temperature 3"},
		{"cache and no-cache", []string{"run", "-m", "clitest-small", "-i", in, "--cache", "x.db", "--no-cache"}, "none of the others can be"},
		{"bad weights", []string{"run", "--weights", "clitest-small=x", "-i", in}, "want a non-negative number"},
		{"weights unknown model", []string{"run", "--weights", "clitest-small=1,nope=1", "-i", in}, `--weights: unknown model "nope"`},
		{"unregistered provider", []string{"run", "-m", "clitest-other-small", "-i", in}, "forgotten import"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := cli{engine: eng}.run(t, tc.args...)
			assert.Equal(t, exitUsage, r.code, r.stderr)
			assert.Contains(t, r.stderr, tc.want)
			assert.Empty(t, eng.jobs)
		})
	}
}

func TestRunRefusesTerminalStdin(t *testing.T) {
	var stdout, stderr syncBuffer
	e := &env{stdin: strings.NewReader(""), stdinTTY: true, stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" }, notify: func(chan<- os.Signal) func() { return func() {} }}
	a := &app{env: e, newEngine: func(*runConfig) (engine, error) { return &fakeEngine{reply: echo}, nil }}
	code := executeApp(t.Context(), a, []string{"run", "-m", "clitest-small"})
	assert.Equal(t, exitUsage, code)
	assert.Contains(t, stderr.String(), "no input: pass -i prompts.jsonl")
}

func TestParseWeights(t *testing.T) {
	w, order, err := parseWeights("b=0.3, a=0.7")
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"a": 0.7, "b": 0.3}, w)
	assert.Equal(t, []string{"b", "a"}, order)
	for in, want := range map[string]string{
		"":        "no models",
		"a":       "not MODEL=WEIGHT",
		"a=-1":    "non-negative",
		"a=1,a=2": "listed twice",
		"a=0,b=0": "all weights are 0",
		"=1":      "not MODEL=WEIGHT",
		"a=NaN":   "non-negative",
	} {
		_, _, err := parseWeights(in)
		assert.ErrorContains(t, err, want, in)
	}
}

func TestCountLines(t *testing.T) {
	path := writeFile(t, "in.jsonl", "a\n\n  \nb\nc")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	assert.Equal(t, 3, countFileLines(f))
	ps := newPromptReader(f, "")
	p, err := ps.Next()
	require.NoError(t, err)
	assert.Equal(t, 1, p.Line, "the file is rewound after counting")
}

func TestRunInterruptWhileInputStalls(t *testing.T) {
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write([]byte(prompts(3))) // then nothing more, and no EOF

	eng := &fakeEngine{reply: echo, concurrency: 2}
	sigs := make(chan os.Signal, 1)
	var stdout, stderr syncBuffer
	e := &env{stdin: pr, stdout: &stdout, stderr: &stderr, getenv: func(string) string { return "" },
		notify: func(c chan<- os.Signal) func() {
			go func() { c <- <-sigs }()
			return func() {}
		}}
	a := &app{env: e, newEngine: func(*runConfig) (engine, error) { return eng, nil }}
	done := make(chan int)
	go func() { done <- executeApp(t.Context(), a, []string{"run", "-m", "clitest-small"}) }()

	require.Eventually(t, func() bool { return strings.Count(stdout.String(), "\n") == 3 }, 5*time.Second, time.Millisecond)
	sigs <- syscall.SIGINT
	select {
	case code := <-done:
		assert.Equal(t, exitInterrupted, code, stderr.String())
	case <-time.After(5 * time.Second):
		t.Fatal("an interrupt must stop a run whose input has gone quiet")
	}
}

func TestRunStopsOnMissingDeployment(t *testing.T) {
	eng := &fakeEngine{concurrency: 1, reply: func(_ context.Context, j *job) (*llm.Response, error) {
		return nil, &llm.Error{Code: llm.CodeNotFound, Provider: "azure-foundry", Model: "azure-gpt-4o-mini",
			StatusCode: 404, Message: "DeploymentNotFound"}
	}}
	r := cli{stdin: prompts(20), engine: eng}.run(t, "run", "-m", "clitest-small")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `assumed to be named like the model ("gpt-4o-mini" for azure-gpt-4o-mini)`)
	assert.Contains(t, r.stderr, "AZURE_DEPLOYMENT_AZURE_GPT_4O_MINI=<deployment name>")
}

func TestRunDoesNotStopWhenSomeSucceed(t *testing.T) {
	eng := &fakeEngine{concurrency: 1, reply: func(ctx context.Context, j *job) (*llm.Response, error) {
		if j.prompt.ID == "q001" {
			return echo(ctx, j)
		}
		return nil, &llm.Error{Code: llm.CodeAuthentication, Provider: "clitest", StatusCode: 401}
	}}
	r := cli{stdin: prompts(20), engine: eng}.run(t, "run", "-m", "clitest-small")
	assert.Equal(t, exitFailures, r.code, "a success proves the setup works: failures are per prompt")
	assert.Len(t, eng.jobs, 20)
}

func TestRunProgressBarOnTerminal(t *testing.T) {
	in := writeFile(t, "in.jsonl", prompts(40)+"{oops\n")
	eng := &fakeEngine{reply: echo, concurrency: 4}
	r := cli{engine: eng, stderrTTY: true, environ: map[string]string{"NO_COLOR": "1"}}.run(t,
		"run", "-m", "clitest-small", "-i", in, "-o", filepath.Join(t.TempDir(), "out.jsonl"))
	assert.Equal(t, exitFailures, r.code)
	assert.Regexp(t, `\d+% \|`, r.stderr, "a bar is drawn on a terminal")
	assert.Contains(t, r.stderr, "\r\x1b[Kdeluge: line 41: invalid JSON", "a warning erases the bar's line first")
	assert.Regexp(t, `succeeded\s+40`, r.stderr)
	assert.NotContains(t, r.stderr, "\x1b[31m", "NO_COLOR")

	r = cli{engine: &fakeEngine{reply: echo}, stderrTTY: true}.run(t, "run", "-m", "clitest-small", "-i", in, "-q")
	assert.NotContains(t, r.stderr, "%", "--quiet: no bar")
}
