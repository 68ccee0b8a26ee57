package openai

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// docDecoder decodes a succession of complete JSON documents (reply bodies,
// stream events) with one json.Decoder. json.Unmarshal starts each document
// with a fresh scanner whose state stack grows by appending, a handful of
// allocations per document; a reused Decoder keeps its scanners, and its
// buffer, from one document to the next. The zero value is ready to use.
//
// decode is as strict as json.Unmarshal: the document must be exactly one
// JSON value, optionally surrounded by white space. After an error the
// Decoder, whose errors are sticky, is dropped and the next call starts
// afresh.
type docDecoder struct {
	r   bytes.Reader
	dec *json.Decoder
	// fed counts the bytes handed to dec; after a document it has
	// consumed them all, or the document had more after its value.
	fed int64
}

// errTrailingData is the error for a document with more after its value.
var errTrailingData = errors.New("invalid character after top-level value")

func (d *docDecoder) decode(data []byte, v any) error {
	if len(data) > maxPooledBuffer/2 {
		// A large document is decoded where it lies: a Decoder would
		// first copy it into a buffer of its own, grown by doubling.
		return json.Unmarshal(data, v)
	}
	// Without trailing white space the value must end where the input
	// does, so no remainder is left in the Decoder for the next document.
	data = bytes.TrimRight(data, " \t\r\n")
	if d.dec == nil {
		d.dec, d.fed = json.NewDecoder(&d.r), 0
	}
	d.r.Reset(data)
	d.fed += int64(len(data))
	err := d.dec.Decode(v)
	switch {
	case err == io.EOF:
		// Nothing but white space: json.Unmarshal's "unexpected end of
		// JSON input".
		err = io.ErrUnexpectedEOF
	case err == nil && d.dec.InputOffset() != d.fed:
		err = errTrailingData
	}
	if err != nil {
		d.dec = nil
	}
	return err
}

// reset readies the decoder for the next call. The Decoder is kept: it
// only ever sees documents of at most half maxPooledBuffer, so its buffer
// stays below maxPooledBuffer.
func (d *docDecoder) reset() {
	d.r.Reset(nil)
}
