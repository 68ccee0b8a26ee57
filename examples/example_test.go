package examples_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/deluge-go/deluge/examples"
)

// Reading the embedded prompts, as "deluge demo" does.
func Example() {
	sc := bufio.NewScanner(bytes.NewReader(examples.Prompts))
	var first struct {
		ID string `json:"id"`
	}
	lines := 0
	for sc.Scan() {
		if lines == 0 {
			if err := json.Unmarshal(sc.Bytes(), &first); err != nil {
				panic(err)
			}
		}
		lines++
	}
	fmt.Println(lines, "prompts, the first is", first.ID)
	// Output:
	// 200 prompts, the first is p001
}
