package memnet

import (
	"io"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestServesHTTPInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(time.Minute) // a slow server: fake time makes it instant
			io.WriteString(w, "hello "+r.URL.Path)
		}))
		defer srv.Close()
		c := srv.Client()
		start := time.Now()
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				resp, err := c.Get(srv.URL + "/x")
				if !assert.NoError(t, err) {
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				assert.NoError(t, err)
				assert.Equal(t, "hello /x", string(b))
			})
		}
		wg.Wait()
		assert.Equal(t, time.Minute, time.Since(start), "the requests waited a minute of fake time, concurrently")
	})
}

func TestClientTimeoutFiresInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		defer srv.Close()
		defer close(release)
		c := srv.Client()
		c.Timeout = 30 * time.Second
		start := time.Now()
		_, err := c.Get(srv.URL)
		require.Error(t, err)
		assert.Equal(t, 30*time.Second, time.Since(start))
	})
}

func TestDialAfterCloseFails(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := NewServer(http.NotFoundHandler())
		srv.Close()
		_, err := srv.Client().Get(srv.URL)
		require.Error(t, err)
	})
}
