package azuretest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// heapPeak samples the live Go heap until stop is called and returns the
// highest value seen, in bytes.
func heapPeak() (stop func() uint64) {
	var peak atomic.Uint64
	done := make(chan struct{})
	finished := make(chan struct{})
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	go func() {
		defer close(finished)
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(sample)
			if v := sample[0].Value.Uint64(); v > peak.Load() {
				peak.Store(v)
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		<-finished
		return peak.Load()
	}
}

// streamUpload posts an n-line batch file generated on the fly (never held
// in memory by the client) and returns the file id.
func streamUpload(b *testing.B, s *Server, n int) string {
	b.Helper()
	pr, pw := io.Pipe()
	w := multipart.NewWriter(pw)
	go func() {
		_ = w.WriteField("purpose", "batch")
		fw, err := w.CreateFormFile("file", "big.jsonl")
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		line := make([]byte, 0, 256)
		for i := range n {
			line = append(line[:0], `{"custom_id":"request-`...)
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, `","method":"POST","url":"/v1/chat/completions","body":{"model":"batch","messages":[{"role":"user","content":"Summarise item `...)
			line = strconv.AppendInt(line, int64(i), 10)
			line = append(line, ` in one line."}],"max_tokens":50}}`+"\n"...)
			if _, err := fw.Write(line); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(w.Close())
	}()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/openai/v1/files", pr)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := s.Client().Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	var f struct{ ID string }
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&f) != nil {
		body, _ := io.ReadAll(resp.Body)
		b.Fatalf("upload: %d %s", resp.StatusCode, body)
	}
	return f.ID
}

func benchCreateAndWait(b *testing.B, s *Server, fileID string) BatchInfo {
	b.Helper()
	resp, err := s.Client().Post(s.URL+"/openai/v1/batches", "application/json",
		strings.NewReader(`{"input_file_id":"`+fileID+`","endpoint":"/chat/completions","completion_window":"24h"}`))
	if err != nil {
		b.Fatal(err)
	}
	var bd struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&bd)
	resp.Body.Close()
	info, err := s.WaitBatch(context.Background(), bd.ID)
	if err != nil {
		b.Fatal(err)
	}
	return info
}

// BenchmarkBatchRun uploads an n-line batch file over loopback HTTP, runs
// every line through the chat handler and streams the output file back. It
// reports lines per second of the whole round and the peak live heap, which
// stays flat in the number of lines: the upload goes to disk, lines are read
// one at a time, outputs are written as they come.
func BenchmarkBatchRun(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("lines=%d", n), func(b *testing.B) {
			s := NewServer(WithBatchDeployment("batch", ""), WithBatchTiming(BatchTiming{}), WithArrivalLog(0))
			defer s.Close()
			var peak uint64
			start := time.Now()
			for b.Loop() {
				runtime.GC()
				stop := heapPeak()
				info := benchCreateAndWait(b, s, streamUpload(b, s, n))
				if info.Status != BatchCompleted || info.Completed != n {
					b.Fatalf("batch %s: %d of %d completed, errors %+v", info.Status, info.Completed, n, info.Errors)
				}
				resp, err := s.Client().Get(s.URL + "/openai/v1/files/" + info.OutputFileID + "/content")
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				peak = max(peak, stop())
				for _, f := range s.Files() { // keep the disk use of one round
					s.api.files.remove(f.ID)
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "lines/s")
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
		})
	}
}

// BenchmarkBatchUploadMillion uploads 1,000,000 lines in one file (about
// 150 MB): the emulator stores it on disk and scans it once, line by line;
// the batch then fails validation with too_many_tasks, as on Azure.
func BenchmarkBatchUploadMillion(b *testing.B) {
	const n = 1_000_000
	s := NewServer(WithBatchDeployment("batch", ""), WithBatchTiming(BatchTiming{}), WithArrivalLog(0))
	defer s.Close()
	var peak uint64
	start := time.Now()
	for b.Loop() {
		runtime.GC()
		stop := heapPeak()
		info := benchCreateAndWait(b, s, streamUpload(b, s, n))
		peak = max(peak, stop())
		if info.Status != BatchFailed || info.Errors[0].Code != codeTooManyTasks {
			b.Fatalf("want too_many_tasks, got %s %+v", info.Status, info.Errors)
		}
		for _, f := range s.Files() {
			s.api.files.remove(f.ID)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/time.Since(start).Seconds(), "lines/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MB")
}
