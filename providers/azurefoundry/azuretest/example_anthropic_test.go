package azuretest_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"

	"github.com/deluge-go/deluge/providers/azurefoundry/azuretest"
)

// The Claude route answers Anthropic's Messages API for Claude deployments.
func Example_anthropic() {
	srv := azuretest.NewServer(azuretest.WithAPIKeys("k"), azuretest.WithDeployment("claude-haiku-4-5", ""))
	defer srv.Close()

	body := `{"model":"claude-haiku-4-5","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}`
	req, err := http.NewRequest(http.MethodPost, srv.URL+azuretest.AnthropicPath, strings.NewReader(body))
	if err != nil {
		log.Fatal(err)
	}
	req.Header.Set("x-api-key", "k")
	req.Header.Set("anthropic-version", "2023-06-01")
	resp, err := srv.Client().Do(req)
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	reply := string(out)
	fmt.Println(resp.StatusCode, reply[strings.Index(reply, `"content"`):])
	// Output: 200 "content":[{"type":"text","text":"Echo: Hi"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":7,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":2}}
}
