package main

import (
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEmulateServesUntilInterrupted(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	var stdout, stderr syncBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
		notify: func(c chan<- os.Signal) func() {
			go func() { c <- <-sigs }()
			return func() {}
		}}
	done := make(chan int)
	go func() {
		done <- executeApp(t.Context(), &app{env: e}, []string{"emulate", "--addr", "127.0.0.1:0",
			"--api-key", "sekret", "--deployments", "gpt-4o-mini,prod=gpt-4o-2024-11-20", "--log-level", "info"})
	}()

	var url string
	require.Eventually(t, func() bool {
		first, _, ok := strings.Cut(stdout.String(), "\n")
		url = first
		return ok
	}, 5*time.Second, 5*time.Millisecond)
	require.Regexp(t, `^http://127\.0\.0\.1:\d+$`, url, "the first stdout line is the endpoint URL")

	post := func(key, body string) (int, string) {
		req, err := http.NewRequest("POST", url+"/openai/v1/chat/completions", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("api-key", key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := post("sekret", `{"model":"prod","messages":[{"role":"user","content":"hi"}]}`)
	assert.Equal(t, 200, status, body)
	assert.Contains(t, body, "Echo: hi")
	status, _ = post("wrong", `{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`)
	assert.Equal(t, 401, status)

	sigs <- syscall.SIGTERM
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("emulate did not stop on SIGTERM")
	}
	assert.Equal(t, 1, strings.Count(stdout.String(), "\n"), "only the URL goes to stdout")
	errs := stderr.String()
	assert.Contains(t, errs, "prod (gpt-4o-2024-11-20)")
	assert.Contains(t, errs, "export AZURE_OPENAI_ENDPOINT="+url)
	assert.NotContains(t, errs, "sekret", "the key is never printed")
	assert.Contains(t, errs, "path=/openai/v1/chat/completions status=200", "--log-level info logs requests")
	assert.Contains(t, errs, "emulator stopped after 2 requests")

	_, err := http.Get(url + "/openai/v1/models")
	assert.Error(t, err, "the listener is closed")
}

func TestEmulateUsageErrors(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"bad deployments": {[]string{"--deployments", ","}, "--deployments"},
		"bad fail rate":   {[]string{"--fail-rate", "1.5"}, "--fail-rate 1.5"},
		"negative rpm":    {[]string{"--rpm", "-1"}, "cannot be negative"},
		"bad addr":        {[]string{"--addr", "256.0.0.1:1"}, "--addr 256.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append([]string{"emulate"}, tc.args...)...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tc.want)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestEmulateBatchFlags(t *testing.T) {
	f := emulateFlags{deployments: "gpt-4o", batchDeployments: "b1,b2=gpt-4o-mini-2024-07-18", enqueuedTokens: 5000,
		batchPhase: time.Second, batchLineDelay: time.Millisecond, backgroundDelay: 0}
	cfg, err := f.config()
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"b1": "b1", "b2": "gpt-4o-mini-2024-07-18"}, cfg.BatchDeployments)
	assert.Equal(t, int64(5000), cfg.EnqueuedTokens)
	require.NotNil(t, cfg.BatchTiming)
	assert.Equal(t, time.Second, cfg.BatchTiming.Validating)
	assert.Equal(t, time.Second, cfg.BatchTiming.Finalizing)
	assert.Equal(t, time.Millisecond, cfg.BatchTiming.PerLine)
	require.NotNil(t, cfg.BackgroundDelay)
	assert.Equal(t, time.Duration(0), *cfg.BackgroundDelay, "0 is honoured, not the default")

	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"bad batch deployments": {[]string{"--batch-deployments", "=x"}, "--batch-deployments"},
		"batch and standard":    {[]string{"--deployments", "gpt-4o", "--batch-deployments", "gpt-4o"}, "also in --deployments"},
		"negative enqueued":     {[]string{"--enqueued-tokens", "-1"}, "--enqueued-tokens"},
		"negative phase":        {[]string{"--batch-phase", "-1s"}, "cannot be negative"},
	} {
		t.Run(name, func(t *testing.T) {
			r := runCLI(t, append([]string{"emulate"}, tc.args...)...)
			assert.Equal(t, exitUsage, r.code)
			assert.Contains(t, r.stderr, tc.want)
		})
	}
}

// TestEmulateServesAPIs runs the command with a batch deployment and checks
// the routes a user reaches for: embeddings and responses with the default
// deployments, a batch job end to end, the models list with a bearer key.
func TestEmulateServesAPIs(t *testing.T) {
	sigs := make(chan os.Signal, 1)
	var stdout, stderr syncBuffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr,
		getenv: func(string) string { return "" },
		notify: func(c chan<- os.Signal) func() {
			go func() { c <- <-sigs }()
			return func() {}
		}}
	done := make(chan int)
	go func() {
		done <- executeApp(t.Context(), &app{env: e}, []string{"emulate", "--addr", "127.0.0.1:0",
			"--api-key", "k", "--batch-deployments", "mini-batch=gpt-4o-mini-2024-07-18", "--batch-phase", "0s"})
	}()
	var url string
	require.Eventually(t, func() bool {
		first, _, ok := strings.Cut(stdout.String(), "\n")
		url = first
		return ok
	}, 5*time.Second, 5*time.Millisecond)

	call := func(method, path, contentType string, body io.Reader, auth string) (int, string) {
		req, err := http.NewRequest(method, url+path, body)
		require.NoError(t, err)
		if strings.HasPrefix(auth, "Bearer ") {
			req.Header.Set("Authorization", auth)
		} else {
			req.Header.Set("api-key", auth)
		}
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	status, body := call("GET", "/openai/v1/models", "", nil, "Bearer k")
	assert.Equal(t, 200, status, body)
	status, body = call("POST", "/openai/v1/embeddings", "application/json", strings.NewReader(`{"model":"text-embedding-3-small","input":"x"}`), "k")
	assert.Equal(t, 200, status, body)
	status, body = call("POST", "/openai/v1/responses", "application/json", strings.NewReader(`{"model":"gpt-4o","input":"hi"}`), "k")
	assert.Equal(t, 200, status, body)
	assert.Contains(t, body, "Echo: hi")

	var form strings.Builder
	w := multipart.NewWriter(&form)
	require.NoError(t, w.WriteField("purpose", "batch"))
	fw, _ := w.CreateFormFile("file", "in.jsonl")
	_, _ = io.WriteString(fw, `{"custom_id":"a","method":"POST","url":"/chat/completions","body":{"model":"mini-batch","messages":[{"role":"user","content":"hi"}]}}`+"\n")
	require.NoError(t, w.Close())
	status, body = call("POST", "/openai/v1/files", w.FormDataContentType(), strings.NewReader(form.String()), "k")
	require.Equal(t, 200, status, body)
	var file struct{ ID string }
	require.NoError(t, json.Unmarshal([]byte(body), &file))
	status, body = call("POST", "/openai/v1/batches", "application/json", strings.NewReader(`{"input_file_id":"`+file.ID+`","endpoint":"/chat/completions","completion_window":"24h"}`), "k")
	require.Equal(t, 200, status, body)
	var batch struct {
		ID, Status   string
		OutputFileID string `json:"output_file_id"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &batch))
	require.Eventually(t, func() bool {
		_, body := call("GET", "/openai/v1/batches/"+batch.ID, "", nil, "k")
		require.NoError(t, json.Unmarshal([]byte(body), &batch))
		return batch.Status == "completed"
	}, 10*time.Second, 5*time.Millisecond)
	status, body = call("GET", "/openai/v1/files/"+batch.OutputFileID+"/content", "", nil, "k")
	assert.Equal(t, 200, status)
	assert.Contains(t, body, `"custom_id":"a"`)
	assert.Contains(t, body, "Echo: hi")

	sigs <- syscall.SIGTERM
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, stderr.String())
	case <-time.After(10 * time.Second):
		t.Fatal("emulate did not stop on SIGTERM")
	}
	assert.Contains(t, stderr.String(), "batch deployments: mini-batch (gpt-4o-mini-2024-07-18)")
}
