package azuretest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// post sends a JSON body with the example key and decodes the answer into out.
func post(url, body string, out any) int {
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("api-key", "test-key")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// A batch job end to end on the v1 routes: upload a JSONL file, create the
// batch, wait for it, read the output file.
func ExampleWithBatchDeployment() {
	srv := azuretest.NewServer(
		azuretest.WithAPIKeys("test-key"),
		azuretest.WithBatchDeployment("gpt-4o-batch", "gpt-4o-2024-11-20"),
	)
	defer srv.Close()

	// Upload: multipart form with purpose=batch and the file.
	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	_ = w.WriteField("purpose", "batch")
	fw, _ := w.CreateFormFile("file", "tasks.jsonl")
	for i, prompt := range []string{"Hello", "World"} {
		fmt.Fprintf(fw, `{"custom_id":"task-%d","method":"POST","url":"/v1/chat/completions","body":{"model":"gpt-4o-batch","messages":[{"role":"user","content":%q}]}}`+"\n", i, prompt)
	}
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/openai/v1/files", &form)
	req.Header.Set("api-key", "test-key")
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		panic(err)
	}
	var file struct{ ID, Status string }
	_ = json.NewDecoder(resp.Body).Decode(&file)
	resp.Body.Close()
	fmt.Println("file:", file.Status)

	var batch struct{ ID, Status string }
	post(srv.URL+"/openai/v1/batches", `{"input_file_id":"`+file.ID+`","endpoint":"/chat/completions","completion_window":"24h"}`, &batch)
	fmt.Println("batch:", batch.Status)

	info, _ := srv.WaitBatch(context.Background(), batch.ID) // or poll GET /openai/v1/batches/{id}
	fmt.Println("batch:", info.Status, info.Completed, "of", info.Total)

	out, _ := srv.FileContent(info.OutputFileID) // or GET /openai/v1/files/{id}/content
	for line := range strings.Lines(string(out)) {
		var l struct {
			CustomID string `json:"custom_id"`
			Response struct {
				StatusCode int `json:"status_code"`
				Body       struct {
					Choices []struct{ Message struct{ Content string } }
				}
			}
		}
		_ = json.Unmarshal([]byte(line), &l)
		fmt.Println(l.CustomID, l.Response.StatusCode, l.Response.Body.Choices[0].Message.Content)
	}
	// Output:
	// file: processed
	// batch: validating
	// batch: completed 2 of 2
	// task-0 200 Echo: Hello
	// task-1 200 Echo: World
}

// A test can stop a batch at a known line: here it expires when its third
// line is about to run, so two lines have results and two are
// batch_expired in the error file.
func ExampleWithBeforeBatchLine() {
	var srv *azuretest.Server
	srv = azuretest.NewServer(
		azuretest.WithAPIKeys("test-key"),
		azuretest.WithBatchDeployment("batch", ""),
		azuretest.WithBeforeBatchLine(func(id string, n int) {
			if n == 3 {
				_ = srv.ExpireBatch(id)
			}
		}),
	)
	defer srv.Close()

	var form bytes.Buffer
	w := multipart.NewWriter(&form)
	_ = w.WriteField("purpose", "batch")
	fw, _ := w.CreateFormFile("file", "tasks.jsonl")
	for i := range 4 {
		fmt.Fprintf(fw, `{"custom_id":"t%d","method":"POST","url":"/chat/completions","body":{"model":"batch","messages":[{"role":"user","content":"hi"}]}}`+"\n", i)
	}
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/openai/files?api-version=2024-10-21", &form)
	req.Header.Set("api-key", "test-key")
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, _ := http.DefaultClient.Do(req)
	var file struct{ ID string }
	_ = json.NewDecoder(resp.Body).Decode(&file)
	resp.Body.Close()

	var batch struct{ ID string }
	post(srv.URL+"/openai/batches?api-version=2024-10-21", `{"input_file_id":"`+file.ID+`","endpoint":"/chat/completions","completion_window":"24h"}`, &batch)
	info, _ := srv.WaitBatch(context.Background(), batch.ID)
	fmt.Println(info.Status, info.Completed, info.Total)
	errs, _ := srv.FileContent(info.ErrorFileID)
	fmt.Print(string(errs))
	// Output:
	// expired 2 4
	// {"custom_id":"t2","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}
	// {"custom_id":"t3","response":null,"error":{"code":"batch_expired","message":"This request could not be executed before the completion window expired."}}
}

// The Responses API: the body's model is the deployment on both route
// families; previous_response_id continues a stored response.
func ExampleServer_responses() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("test-key"), azuretest.WithDeployment("o4-mini", ""))
	defer srv.Close()

	type response struct {
		ID     string
		Status string
		Output []struct {
			Type    string
			Summary []struct{ Text string }
			Content []struct{ Text string }
		}
		Usage struct {
			InputTokens         int `json:"input_tokens"`
			OutputTokensDetails struct {
				ReasoningTokens int `json:"reasoning_tokens"`
			} `json:"output_tokens_details"`
		}
	}
	var r response
	post(srv.URL+"/openai/v1/responses", `{"model":"o4-mini","input":"Plan a trip","reasoning":{"effort":"low","summary":"auto"}}`, &r)
	fmt.Println(r.Status, r.Output[0].Type, r.Output[0].Summary[0].Text)
	fmt.Println(r.Output[1].Type, r.Output[1].Content[0].Text, r.Usage.OutputTokensDetails.ReasoningTokens)

	var next response
	post(srv.URL+"/openai/responses?api-version=2025-04-01-preview", `{"model":"o4-mini","previous_response_id":"`+r.ID+`","input":"Shorter"}`, &next)
	fmt.Println(next.Output[1].Content[0].Text, next.Usage.InputTokens == azuretest.PromptTokens("Plan a trip", "Echo: Plan a trip", "Shorter"))
	// Output:
	// completed reasoning Reasoning about: Plan a trip
	// message Echo: Plan a trip 64
	// Echo: Shorter true
}

// Embeddings are deterministic unit vectors seeded by the input text.
func ExampleEmbedding() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("test-key"), azuretest.WithDeployment("text-embedding-3-large", ""))
	defer srv.Close()

	var e struct {
		Data []struct {
			Embedding []float32
		}
		Usage struct {
			PromptTokens int `json:"prompt_tokens"`
		}
	}
	status := post(srv.URL+"/openai/deployments/text-embedding-3-large/embeddings?api-version=2024-10-21",
		`{"input":["first text","second"],"dimensions":256}`, &e)
	v := e.Data[0].Embedding
	fmt.Println(status, len(e.Data), len(v), e.Usage.PromptTokens)
	fmt.Println(v[0] == azuretest.Embedding("text-embedding-3-large", "first text", 256)[0])
	// Output:
	// 200 2 256 5
	// true
}

// HoldAsync freezes batches and background responses, so a test sees a
// background response queued and can cancel it.
func ExampleHandler_HoldAsync() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("test-key"), azuretest.WithDeployment("gpt-4o", ""))
	defer srv.Close()
	srv.HoldAsync(true)

	var r struct{ ID, Status string }
	post(srv.URL+"/openai/v1/responses", `{"model":"gpt-4o","input":"later","background":true}`, &r)
	fmt.Println(r.Status)
	post(srv.URL+"/openai/v1/responses/"+r.ID+"/cancel", "", &r)
	fmt.Println(r.Status)
	// Output:
	// queued
	// cancelled
}
