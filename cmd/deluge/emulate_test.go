package main

import (
	"io"
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
