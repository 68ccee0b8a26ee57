package azuretest

import (
	"bytes"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"
)

// The files and batch documents of the emulator hold the keys and JSON
// types of Microsoft's documented examples in fixtures/azure (see
// SOURCES.md), recursively; extra keys only where listed.

func TestFixtureFileUpload(t *testing.T) {
	for _, f := range apiFamilies {
		t.Run(f.name, func(t *testing.T) {
			s := batchServer(t)
			resp, body := upload(t, s, f.url(s, "files"), chatLines("batch", "a"), "purpose", "batch", "expires_after[anchor]", "created_at", "expires_after[seconds]", "1209600")
			require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
			requireSameShape(t, readFixture(t, "aoai_file_upload_purpose_batch.doc.json"), body, nil, nil)
		})
	}
}

func TestFixtureBatchCreate(t *testing.T) {
	for _, tc := range []struct {
		fixture  string
		failFast bool
		nullable []string
	}{
		// Older behaviour: endpoint and file ids null while validating.
		{"aoai_batch_create_validating.doc.json", false, nil},
		// Fail-fast regions: the endpoint echoed, "" file ids.
		{"aoai_batch_create_failfast_empty_file_ids.doc.json", true, nil},
	} {
		for _, f := range apiFamilies {
			t.Run(tc.fixture+"/"+f.name, func(t *testing.T) {
				s := batchServer(t, WithBatchFailFast(tc.failFast))
				s.HoldAsync(true)
				defer s.HoldAsync(false)
				resp, body := createBatch(t, s, f, uploadID(t, s, f, chatLines("batch", "a")), "")
				require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
				requireSameShape(t, readFixture(t, tc.fixture), body, nil, tc.nullable)
			})
		}
	}
}

func TestFixtureBatchListPreview(t *testing.T) {
	s := batchServer(t)
	for range 2 {
		f := apiFamilies[1]
		b := runBatchOf(t, s, f, chatLines("batch", "ok", "FILTER_PROMPT", "ok too"), "")
		require.Equal(t, BatchCompleted, b.Status)
		require.Equal(t, 1, b.RequestCounts.Failed)
	}
	resp, body := do(t, s.Client(), http.MethodGet, classicAPIURL(s, "batches?$filter=created_at%20gt%200%20and%20status%20eq%20'Completed'&$orderby=created_at%20asc", "2025-03-01-preview"), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, "body: %s", body)
	requireSameShape(t, readFixture(t, "aoai_batch_list_preview_filter.doc.json"), body, nil, nil)
}

func TestFixtureBatchOutputLine(t *testing.T) {
	s := batchServer(t)
	f := apiFamilies[0]
	input := bytes.ReplaceAll(readFixture(t, "aoai_batch_input_chat_completions.doc.jsonl"), []byte("REPLACE-WITH-MODEL-DEPLOYMENT-NAME"), []byte("batch"))
	b := runBatchOf(t, s, f, string(input), "")
	require.Equal(t, BatchCompleted, b.Status)
	content, err := s.FileContent(*b.OutputFileID)
	require.NoError(t, err)
	lines := bytes.Split(bytes.TrimSpace(content), []byte("\n"))
	require.Len(t, lines, 3)
	// The documented line predates these keys of today's completions.
	var extra []string
	for _, k := range newerCompletionKeys {
		extra = append(extra, "response.body."+k)
	}
	for _, line := range lines {
		requireSameShape(t, bytes.TrimSpace(readFixture(t, "aoai_batch_output_line.doc.jsonl")), line, extra, nil)
	}
}
