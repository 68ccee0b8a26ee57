package openai

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/deluge-go/deluge/internal/fixture"
	"github.com/deluge-go/deluge/llm"
	"github.com/deluge-go/deluge/registry"
)

// Fuzz targets for the parsers of the files and batches API: the batch
// and file objects, their pages, and the lines of a job's output. Seeded
// from every batch document of fixtures/azure.

var batchFixtures = []string{
	"aoai_batch_create_validating.doc.json",
	"aoai_batch_create_validating_iso_timestamps.doc.json",
	"aoai_batch_create_failfast_empty_file_ids.doc.json",
	"aoai_batch_list_preview_filter.doc.json",
	"aoai_file_upload_purpose_batch.doc.json",
}

func FuzzDecodeBatchObjects(f *testing.F) {
	for _, name := range batchFixtures {
		f.Add(fixture.Azure(f, name))
	}
	f.Add([]byte(`{"id":"b","status":"failed","errors":[{"code":"x","line":"NaN"}],"created_at":1e400,"request_counts":{"total":"-1"}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		if j, err := DecodeBatchJob(doc); err == nil {
			if j.ID == "" {
				t.Fatal("a job without an id decoded")
			}
			if j.Counts.Total < 0 || j.Counts.Completed < 0 || j.Counts.Failed < 0 {
				t.Fatalf("negative counts %+v", j.Counts)
			}
			if _, err := j.CreatedAt.MarshalJSON(); err != nil {
				t.Fatalf("a timestamp out of range: %v", j.CreatedAt)
			}
		}
		DecodeBatchJobs(doc)
		DecodeFile(doc)
		decodeFiles(doc)
	})
}

func FuzzBatchResult(f *testing.F) {
	f.Add(bytes.TrimSpace(fixture.Azure(f, "aoai_batch_output_line.doc.jsonl")))
	f.Add(bytes.TrimSpace(fixture.Azure(f, "aoai_batch_output_line_responses.doc.jsonl")))
	for _, name := range []string{"aoai_batch_input_chat_completions.doc.jsonl", "aoai_batch_input_responses.doc.jsonl"} {
		for _, line := range strings.Split(strings.TrimSpace(string(fixture.Azure(f, name))), "\n") {
			f.Add([]byte(line))
		}
	}
	f.Add([]byte(`{"custom_id":"c","response":{"status_code":200,"body":{"object":"response","status":"failed","error":{"code":"server_error","message":"` + fuzzKey + `"}}}}`))
	f.Add([]byte(`{"custom_id":"c","response":{"status_code":400,"request_id":"` + fuzzKey + `","body":{"error":{"code":"content_filter","message":"` + fuzzKey + `"}}}}`))
	f.Add([]byte(`{"custom_id":"c","response":null,"error":{"code":"batch_expired","message":"` + fuzzKey + `"}}`))
	s, err := NewBatchService(BatchConfig{Model: registry.Model{ID: "m", Name: "m", InputCost: 1, OutputCost: 2}, BaseURL: "https://x.openai.azure.com/openai/v1",
		Doer: http.DefaultClient, Redact: []string{fuzzKey}})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		r, err := s.Result(line)
		if err != nil {
			return
		}
		if (r.Response == nil) == (r.Err == nil) {
			t.Fatalf("want exactly one of response and error: %+v", r)
		}
		var text string
		if r.Response != nil {
			text = r.Response.Completion + r.Response.RequestID + r.Response.Refusal + r.Response.ReasoningSummary + r.Response.ResponseID
			if r.Response.Cost < 0 {
				t.Fatalf("negative cost %v", r.Response.Cost)
			}
		} else {
			text = r.Err.Error()
			if llm.CodeOf(r.Err) == "" {
				t.Fatal("an error without a code")
			}
		}
		if strings.Contains(text, fuzzKey) {
			t.Fatalf("the secret leaked: %q", text)
		}
	})
}
