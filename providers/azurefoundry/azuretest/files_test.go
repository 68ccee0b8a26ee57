package azuretest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type fileDoc struct {
	ID        string `json:"id"`
	Object    string `json:"object"`
	Status    string `json:"status"`
	Purpose   string `json:"purpose"`
	Filename  string `json:"filename"`
	Bytes     int64  `json:"bytes"`
	CreatedAt int64  `json:"created_at"`
	ExpiresAt *int64 `json:"expires_at"`
}

// withMaxBatchFileBytes lowers the batch file size limit so a test can
// cross it cheaply.
func withMaxBatchFileBytes(n int64) Option {
	return func(c *config) { c.api.maxBatchBytes = n }
}

func TestUploadFile(t *testing.T) {
	content := chatLines("batch", "a", "b")
	for _, f := range apiFamilies {
		for _, tc := range []struct {
			name      string
			content   string
			fileFirst bool
			fields    []string
			header    string // Content-Type override
			status    int
			code      string // error.code, or "" with message check
			message   string // substring of error.message
			expiry    int64
		}{
			{name: "batch", content: content, fields: []string{"purpose", "batch"}, status: 200},
			{name: "file part first", content: content, fileFirst: true, fields: []string{"purpose", "batch"}, status: 200},
			{name: "expiry with brackets (OpenAI SDKs)", content: content, fields: []string{"purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "1209600"}, status: 200, expiry: 1209600},
			{name: "expiry with dots (Microsoft curl example)", content: content, fields: []string{"purpose", "batch", "expires_after.seconds", "2592000", "expires_after.anchor", "created_at"}, status: 200, expiry: 2592000},
			{name: "expiry below 14 days", content: content, fields: []string{"purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "3600"}, status: 400, code: "invalid_value", message: "1209600 to 2592000"},
			{name: "expiry anchor", content: content, fields: []string{"purpose", "batch", "expires_after[anchor]", "last_active_at", "expires_after[seconds]", "1209600"}, status: 400, code: "invalid_value", message: "created_at"},
			{name: "no purpose", content: content, fields: []string{"x", "y"}, status: 400, code: "missing_required_parameter"},
			{name: "bad purpose", content: content, fields: []string{"purpose", "user_data"}, status: 400, message: "Invalid value for purpose."},
			{name: "no file", content: "\x00nofile", fields: []string{"purpose", "batch"}, status: 400, code: "missing_required_parameter", message: "'file'"},
			{name: "too large", content: strings.Repeat("x", 2001), fields: []string{"purpose", "batch"}, status: 400, message: "File is too large."},
			{name: "other purpose not size-limited as batch", content: strings.Repeat("x", 2001), fields: []string{"purpose", "fine-tune"}, status: 200},
			{name: "not multipart", header: "application/json", status: 400, message: "multipart/form-data"},
		} {
			t.Run(f.name+"/"+tc.name, func(t *testing.T) {
				s := batchServer(t, withMaxBatchFileBytes(2000))
				body, ct := multipartBody(t, tc.content, tc.fileFirst, tc.fields...)
				if tc.header != "" {
					ct = tc.header
				}
				req, err := http.NewRequest(http.MethodPost, f.url(s, "files"), body)
				require.NoError(t, err)
				req.Header.Set("Content-Type", ct)
				resp, err := s.Client().Do(req)
				require.NoError(t, err)
				defer resp.Body.Close()
				var raw json.RawMessage
				require.NoError(t, json.NewDecoder(resp.Body).Decode(&raw))
				require.Equal(t, tc.status, resp.StatusCode, "body: %s", raw)
				if tc.status != 200 {
					if tc.code != "" {
						assert.Equal(t, tc.code, errorCode(t, raw))
					}
					assert.Contains(t, errorMessage(t, raw), tc.message)
					assert.Empty(t, s.Files())
					return
				}
				var fd fileDoc
				require.NoError(t, json.Unmarshal(raw, &fd))
				assert.Equal(t, "file", fd.Object)
				assert.Equal(t, "processed", fd.Status)
				assert.Equal(t, "tasks.jsonl", fd.Filename)
				assert.Equal(t, int64(len(tc.content)), fd.Bytes)
				assert.Regexp(t, `^file-[0-9a-f]{32}$`, fd.ID)
				if tc.expiry > 0 {
					require.NotNil(t, fd.ExpiresAt)
					assert.Equal(t, fd.CreatedAt+tc.expiry, *fd.ExpiresAt)
				} else {
					assert.Nil(t, fd.ExpiresAt, "no expiry: null, as Azure answers")
				}
				got, err := s.FileContent(fd.ID)
				require.NoError(t, err)
				assert.Equal(t, tc.content, string(got))
			})
		}
	}
}

func TestUploadBatchPurposeNeedsBatchAPIVersion(t *testing.T) {
	s := batchServer(t)
	resp, body := upload(t, s, classicAPIURL(s, "files", "2024-06-01"), chatLines("batch", "a"))
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "body: %s", body)
	assert.Equal(t, "Invalid value for purpose.", errorMessage(t, body))
	resp, body = upload(t, s, classicAPIURL(s, "files", "2024-06-01"), "{}", "purpose", "fine-tune")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "other purposes predate batch: %s", body)
}

func TestUploadQuota(t *testing.T) {
	s := batchServer(t, WithFileLimits(1, 2))
	url := s.URL + "/openai/v1/files"
	expiring := []string{"purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "1209600"}
	resp, _ := upload(t, s, url, "x")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, body := upload(t, s, url, "x")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	// Azure/azure-sdk-for-java#47401.
	assert.JSONEq(t, `{"error":{"code":"quotaExceeded","message":"The quota for files without expiry is reached. The maximum is 1."}}`, string(body))
	for range 2 {
		resp, body = upload(t, s, url, "x", expiring...)
		require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	}
	resp, body = upload(t, s, url, "x", expiring...)
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "quotaExceeded", errorCode(t, body))
	// Deleting a file frees its place.
	id := s.Files()[0].ID
	resp, _ = do(t, s.Client(), http.MethodDelete, url+"/"+id, "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp, _ = upload(t, s, url, "x")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

func TestFileRoutes(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			clock := newFakeClock()
			s := batchServer(t, WithClock(clock.Now))
			var ids []string
			for i := range 3 {
				ids = append(ids, uploadID(t, s, f, chatLines("batch", "p")))
				clock.Advance(time.Second)
				_ = i
			}
			resp, body := upload(t, s, f.url(s, "files"), "{}", "purpose", "fine-tune", "expires_after[seconds]", "1209600")
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)

			type list struct {
				Object  string    `json:"object"`
				Data    []fileDoc `json:"data"`
				FirstID *string   `json:"first_id"`
				LastID  *string   `json:"last_id"`
				HasMore bool      `json:"has_more"`
			}
			get := func(path string) list {
				t.Helper()
				resp, body := do(t, s.Client(), http.MethodGet, f.url(s, path), "", nil)
				require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
				var l list
				require.NoError(t, json.Unmarshal(body, &l))
				return l
			}
			l := get("files?purpose=batch")
			assert.Equal(t, "list", l.Object)
			require.Len(t, l.Data, 3)
			assert.Equal(t, ids[2], l.Data[0].ID, "newest first")
			l = get("files?purpose=batch&order=asc&limit=2")
			require.Len(t, l.Data, 2)
			assert.Equal(t, ids[0], l.Data[0].ID)
			assert.True(t, l.HasMore)
			assert.Equal(t, ids[1], *l.LastID)
			l = get("files?purpose=batch&order=asc&after=" + ids[1])
			require.Len(t, l.Data, 1)
			assert.Equal(t, ids[2], l.Data[0].ID)
			assert.False(t, l.HasMore)
			assert.Len(t, get("files").Data, 4)

			resp, body = do(t, s.Client(), http.MethodGet, f.url(s, "files/"+ids[0]), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, ids[0], decodeFile(t, body).ID)

			resp, body = do(t, s.Client(), http.MethodGet, f.url(s, "files/"+ids[0]+"/content"), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Equal(t, "application/octet-stream", resp.Header.Get("Content-Type"))
			assert.Equal(t, chatLines("batch", "p"), string(body))

			resp, body = do(t, s.Client(), http.MethodDelete, f.url(s, "files/"+ids[0]), "", nil)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.JSONEq(t, `{"id":"`+ids[0]+`","object":"file","deleted":true}`, string(body))
			for _, m := range []string{http.MethodGet, http.MethodDelete} {
				resp, _ = do(t, s.Client(), m, f.url(s, "files/"+ids[0]), "", nil)
				assert.Equal(t, http.StatusNotFound, resp.StatusCode, m)
			}
			resp, _ = do(t, s.Client(), http.MethodGet, f.url(s, "files/"+ids[0]+"/content"), "", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)
			resp, _ = do(t, s.Client(), http.MethodGet, f.url(s, "files?limit=0"), "", nil)
			assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
			resp, _ = do(t, s.Client(), http.MethodPut, f.url(s, "files"), "{}", nil)
			assert.Equal(t, http.StatusNotFound, resp.StatusCode)

			// The expiring file vanishes once the handler clock passes expires_at.
			assert.Len(t, s.Files(), 3)
			clock.Advance(1209600 * time.Second)
			assert.Len(t, s.Files(), 2)
			assert.Len(t, get("files").Data, 2)
		})
	}
}

func decodeFile(t *testing.T, b []byte) fileDoc {
	t.Helper()
	var fd fileDoc
	require.NoError(t, json.Unmarshal(b, &fd), "body: %s", b)
	return fd
}

func TestFilePending(t *testing.T) {
	s := batchServer(t, WithBatchTiming(BatchTiming{FileProcessing: time.Hour}))
	f := apiFamilies[0]
	resp, body := upload(t, s, f.url(s, "files"), chatLines("batch", "a"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	fd := decodeFile(t, body)
	assert.Equal(t, "pending", fd.Status)
	resp, body = createBatch(t, s, f, fd.ID, "")
	require.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Contains(t, errorMessage(t, body), "still being processed")
}

func TestCloseDeletesStoredFiles(t *testing.T) {
	s := NewServer(WithBatchDeployment("batch", ""))
	id := uploadID(t, s, apiFamilies[0], chatLines("batch", "a"))
	path := s.api.files.get(id, s.now().Unix()).path
	require.FileExists(t, path)
	s.Close()
	assert.NoFileExists(t, path)
}

func TestStorageDir(t *testing.T) {
	dir := t.TempDir()
	s := NewServer(WithBatchDeployment("batch", ""), WithStorageDir(dir))
	id := uploadID(t, s, apiFamilies[0], chatLines("batch", "a"))
	path := s.api.files.get(id, s.now().Unix()).path
	assert.True(t, strings.HasPrefix(path, dir), path)
	s.Close()
	assert.NoFileExists(t, path)
	assert.DirExists(t, dir, "the caller's directory stays")
}
