package cozesim

import (
	"bytes"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

func liveHeap() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// Catalog case 74 (issue 8 item 4): the demo simulator faces the internet
// with the app, so its request log is a ring bounded in entries and bytes, and
// its call counters cannot be grown by made-up methods and paths.
func TestCase74_RequestLogIsABoundedRing(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	size := func(rs []Request) (n int) {
		for _, r := range rs {
			n += r.size()
		}
		return n
	}
	heapBefore := liveHeap()
	big := bytes.Repeat([]byte("b"), maxRecordedBody)
	const bigOnes = 1500 // 1500 × (64 KiB body + 4 KiB header) offered
	for i := range bigOnes {
		r := httptest.NewRequest("POST", "/v1/no/such/path/"+strconv.Itoa(i), bytes.NewReader(big))
		r.Method = "M" + strings.Repeat("X", 1000) + strconv.Itoa(i)
		r.Header.Set("X-Pad", strings.Repeat("h", 4096))
		s.ServeHTTP(httptest.NewRecorder(), r)
	}
	reqs := s.Requests()
	if got := size(reqs); got > maxRequestLogBytes {
		t.Errorf("request log holds %d bytes, want at most %d", got, maxRequestLogBytes)
	}
	if len(reqs) == 0 || !strings.HasSuffix(reqs[len(reqs)-1].Path, "/"+strconv.Itoa(bigOnes-1)) {
		t.Fatalf("the newest request is not the last kept one")
	}
	for i := 1; i < len(reqs); i++ {
		a, _ := strconv.Atoi(reqs[i-1].Path[strings.LastIndexByte(reqs[i-1].Path, '/')+1:])
		b, _ := strconv.Atoi(reqs[i].Path[strings.LastIndexByte(reqs[i].Path, '/')+1:])
		if b != a+1 {
			t.Fatalf("log out of order at %d: %d then %d", i, a, b)
		}
	}
	heapAfterBig := liveHeap()

	// Many small requests: the count bound holds, oldest first out.
	for i := range maxRequests + 500 {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/bots/"+strconv.Itoa(i), nil))
	}
	reqs = s.Requests()
	if len(reqs) != maxRequests {
		t.Errorf("request log holds %d entries, want %d", len(reqs), maxRequests)
	}
	if want := "/v1/bots/" + strconv.Itoa(maxRequests+499); reqs[len(reqs)-1].Path != want {
		t.Errorf("newest = %s, want %s", reqs[len(reqs)-1].Path, want)
	}
	calls := s.AllCalls()
	if len(calls) > maxCallKeys+16 {
		t.Errorf("%d call counters after made-up methods and paths, want at most %d", len(calls), maxCallKeys+16)
	}
	if s.Calls("GET /v1/bots/{bot_id}") != maxRequests+500 {
		t.Errorf("pattern counter = %d, want every request counted", s.Calls("GET /v1/bots/{bot_id}"))
	}
	t.Logf("figures: %d requests offering %d MiB: log keeps %d entries / %d KiB; heap %+d KiB after the big ones, %d call counters",
		bigOnes+maxRequests+500, bigOnes*(64+4)>>10, len(reqs), size(reqs)>>10, (int64(heapAfterBig)-int64(heapBefore))>>10, len(calls))
}
