package azuretest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// apiFamily builds the URL of a route of the files, batches and responses
// API on one URL family.
type apiFamily struct {
	name string
	url  func(s *Server, path string) string
}

// classicAPIVersion is the dated version the classic tests send: the last
// preview, which has batch and the Responses API.
const classicAPIVersion = "2025-04-01-preview"

var apiFamilies = []apiFamily{
	{"v1", func(s *Server, path string) string { return s.URL + "/openai/v1/" + path }},
	{"classic", func(s *Server, path string) string { return classicAPIURL(s, path, classicAPIVersion) }},
}

func classicAPIURL(s *Server, path, version string) string {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return s.URL + "/openai/" + path + sep + "api-version=" + version
}

// embeddingsURL is the embeddings route of a deployment on a family.
func embeddingsURL(f apiFamily, s *Server, deployment string) string {
	if f.name == "v1" {
		return s.URL + "/openai/v1/embeddings"
	}
	return classicAPIURL(s, "deployments/"+deployment+"/embeddings", classicAPIVersion)
}

// batchServer is an emulator with a Global Batch deployment "batch"
// (gpt-4o), standard "gpt-4o" and "o4-mini", and no batch delays.
func batchServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	base := []Option{
		WithDeployment("gpt-4o", ""),
		WithDeployment("o4-mini", ""),
		WithDeployment("text-embedding-3-small", ""),
		WithBatchDeployment("batch", "gpt-4o-2024-11-20"),
		WithBatchTiming(BatchTiming{}),
	}
	s := NewServer(append(base, opts...)...)
	t.Cleanup(s.Close)
	return s
}

// multipartBody builds a files upload form; fields are written in order
// (name, value), the file part last unless fileFirst.
func multipartBody(t testing.TB, content string, fileFirst bool, fields ...string) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	file := func() {
		if content == "\x00nofile" {
			return
		}
		fw, err := w.CreateFormFile("file", "tasks.jsonl")
		require.NoError(t, err)
		_, _ = io.WriteString(fw, content)
	}
	if fileFirst {
		file()
	}
	for i := 0; i+1 < len(fields); i += 2 {
		require.NoError(t, w.WriteField(fields[i], fields[i+1]))
	}
	if !fileFirst {
		file()
	}
	require.NoError(t, w.Close())
	return &buf, w.FormDataContentType()
}

// upload posts a file with purpose batch (and fields) and returns the
// response.
func upload(t testing.TB, s *Server, url, content string, fields ...string) (*http.Response, []byte) {
	t.Helper()
	if len(fields) == 0 {
		fields = []string{"purpose", "batch"}
	}
	body, ct := multipartBody(t, content, false, fields...)
	req, err := http.NewRequest(http.MethodPost, url, body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", ct)
	resp, err := s.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, b
}

// uploadID uploads a batch file and returns its id.
func uploadID(t testing.TB, s *Server, f apiFamily, content string) string {
	t.Helper()
	resp, body := upload(t, s, f.url(s, "files"), content)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	var file struct{ ID string }
	require.NoError(t, json.Unmarshal(body, &file))
	return file.ID
}

// chatLines renders batch input lines asking deployment for each prompt.
func chatLines(deployment string, prompts ...string) string {
	var b strings.Builder
	for i, p := range prompts {
		pj, _ := json.Marshal(p)
		fmt.Fprintf(&b, `{"custom_id":"task-%d","method":"POST","url":"/v1/chat/completions","body":{"model":%q,"messages":[{"role":"user","content":%s}]}}`+"\n", i, deployment, pj)
	}
	return b.String()
}

// batchDoc is the part of a batch object tests read.
type batchDoc struct {
	ID            string          `json:"id"`
	Status        string          `json:"status"`
	Endpoint      *string         `json:"endpoint"`
	OutputFileID  *string         `json:"output_file_id"`
	ErrorFileID   *string         `json:"error_file_id"`
	InProgressAt  *int64          `json:"in_progress_at"`
	CompletedAt   *int64          `json:"completed_at"`
	FailedAt      *int64          `json:"failed_at"`
	ExpiredAt     *int64          `json:"expired_at"`
	CancellingAt  *int64          `json:"cancelling_at"`
	CancelledAt   *int64          `json:"cancelled_at"`
	Metadata      json.RawMessage `json:"metadata"`
	RequestCounts struct {
		Total, Completed, Failed int
	} `json:"request_counts"`
	Errors *struct {
		Object string `json:"object"`
		Data   []struct {
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Line    *int    `json:"line"`
			Param   *string `json:"param"`
		} `json:"data"`
	} `json:"errors"`
}

func decodeBatch(t testing.TB, b []byte) batchDoc {
	t.Helper()
	var d batchDoc
	require.NoError(t, json.Unmarshal(b, &d), "body: %s", b)
	return d
}

// createBatch creates a batch over fileID and returns the response.
func createBatch(t *testing.T, s *Server, f apiFamily, fileID, extra string) (*http.Response, []byte) {
	t.Helper()
	body := `{"input_file_id":"` + fileID + `","endpoint":"/chat/completions","completion_window":"24h"`
	if extra != "" {
		body += "," + extra
	}
	return do(t, s.Client(), http.MethodPost, f.url(s, "batches"), body+"}", nil)
}

// runBatch uploads content, creates a batch and waits for its end; it
// returns the final batch document.
func runBatchOf(t *testing.T, s *Server, f apiFamily, content, extra string) batchDoc {
	t.Helper()
	id := uploadID(t, s, f, content)
	resp, body := createBatch(t, s, f, id, extra)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	b := decodeBatch(t, body)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := s.WaitBatch(ctx, b.ID)
	require.NoError(t, err)
	resp, body = do(t, s.Client(), http.MethodGet, f.url(s, "batches/"+b.ID), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	return decodeBatch(t, body)
}

// outputLine is one line of a batch output or error file.
type outputLine struct {
	CustomID string `json:"custom_id"`
	Response *struct {
		StatusCode int             `json:"status_code"`
		RequestID  string          `json:"request_id"`
		Body       json.RawMessage `json:"body"`
	} `json:"response"`
	Error *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// fileLines downloads a file over HTTP and decodes its JSONL lines.
func fileLines(t *testing.T, s *Server, f apiFamily, id string) []outputLine {
	t.Helper()
	resp, body := do(t, s.Client(), http.MethodGet, f.url(s, "files/"+id+"/content"), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	var out []outputLine
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l outputLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "line: %s", sc.Text())
		out = append(out, l)
	}
	return out
}

// errorCode extracts error.code of an error body.
func errorCode(t testing.TB, b []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Code    *string `json:"code"`
			Message string  `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &e), "body: %s", b)
	if e.Error.Code == nil {
		return ""
	}
	return *e.Error.Code
}

func errorMessage(t testing.TB, b []byte) string {
	t.Helper()
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	require.NoError(t, json.Unmarshal(b, &e), "body: %s", b)
	return e.Error.Message
}
