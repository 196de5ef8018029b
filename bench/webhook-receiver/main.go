// Load tools for Herald's partner webhooks and live tail (bench/webhooks.sh drives them).
//
//	receive   -listen ADDR                 webhook receiver: answers 204, records each record's delay
//	tail      -url LIVE_URL -control ADDR  live tail (SSE) client: records each event's delay
//	produce   -url BASE -topic T ...       posts JSON records at a fixed rate, prints what it achieved
//	subscribe -url BASE -topic T -n N ...  creates N webhook subscriptions
//
// A record's delay is measured twice, both on this machine's wall clock (the broker runs on
// the same machine and clock):
//   - from its timestamp (ms, set by the broker when it appended the record): what the
//     broker adds after the append (durability, reading, encoding, sending);
//   - from `sent_ns` in its value (the producer's clock just before its produce request):
//     the whole way from producer to consumer, produce acknowledgement (fsync) included.
//
// Records carry "m":1 in their value while the producer is in its measured window and
// "m":0 during the warm-up; only measured records enter the figures. The receiver and the
// tail client answer `GET /stats?expect=N&wait=SECONDS` on their control address: they wait
// until N measured records arrived (or the time is up) and answer one line of key=value.
// No dependencies beyond Go's standard library.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: webhook-receiver receive|tail|produce|subscribe [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "receive":
		err = receive(os.Args[2:])
	case "tail":
		err = tail(os.Args[2:])
	case "produce":
		err = produce(os.Args[2:])
	case "subscribe":
		err = subscribe(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// record is the part of a delivered or tailed record the figures need.
type record struct {
	Partition int64 `json:"partition"`
	Offset    int64 `json:"offset"`
	Timestamp int64 `json:"timestamp"`
	Value     struct {
		SentNs int64 `json:"sent_ns"`
		M      int   `json:"m"`
	} `json:"value"`
}

// collector gathers the delays of measured records.
type collector struct {
	mu        sync.Mutex
	fromTs    []float64 // ms: arrival minus the record's timestamp
	fromSent  []float64 // ms: arrival minus the producer's send time
	seen      map[[2]int64]struct{}
	dups      int
	warm      int // records of the warm-up
	bad       int // bodies that did not parse
	first     time.Time
	last      time.Time
	conns     map[string]struct{} // client addresses that delivered records
	readyFlag atomic.Bool
}

func newCollector() *collector {
	return &collector{seen: make(map[[2]int64]struct{}, 1<<18), conns: map[string]struct{}{}}
}

func (c *collector) add(now time.Time, from string, r *record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.conns[from] = struct{}{}
	if r.Value.M != 1 {
		c.warm++
		return
	}
	k := [2]int64{r.Partition, r.Offset}
	if _, ok := c.seen[k]; ok {
		c.dups++
		return
	}
	c.seen[k] = struct{}{}
	ns := now.UnixNano()
	c.fromTs = append(c.fromTs, float64(ns)/1e6-float64(r.Timestamp))
	c.fromSent = append(c.fromSent, float64(ns-r.Value.SentNs)/1e6)
	if c.first.IsZero() {
		c.first = now
	}
	c.last = now
}

func (c *collector) failed() {
	c.mu.Lock()
	c.bad++
	c.mu.Unlock()
}

func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.fromTs)
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// summary is one line of key=value: counts, rate of arrival, delay percentiles in ms.
func (c *collector) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.fromTs)
	rate := 0.0
	if span := c.last.Sub(c.first).Seconds(); n > 1 && span > 0 {
		rate = float64(n-1) / span
	}
	ts := append([]float64(nil), c.fromTs...)
	sent := append([]float64(nil), c.fromSent...)
	sort.Float64s(ts)
	sort.Float64s(sent)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }
	return fmt.Sprintf("received=%d rate=%.0f dups=%d warmup=%d bad=%d conns=%d "+
		"ts_p50=%s ts_p90=%s ts_p99=%s ts_p999=%s ts_max=%s "+
		"sent_p50=%s sent_p90=%s sent_p99=%s sent_p999=%s sent_max=%s",
		n, rate, c.dups, c.warm, c.bad, len(c.conns),
		f(percentile(ts, 50)), f(percentile(ts, 90)), f(percentile(ts, 99)), f(percentile(ts, 99.9)), f(percentile(ts, 100)),
		f(percentile(sent, 50)), f(percentile(sent, 90)), f(percentile(sent, 99)), f(percentile(sent, 99.9)), f(percentile(sent, 100)))
}

// control serves /stats and /ready for the driver.
func (c *collector) control(mux *http.ServeMux) {
	mux.HandleFunc("/stats", func(w http.ResponseWriter, r *http.Request) {
		expect, _ := strconv.Atoi(r.URL.Query().Get("expect"))
		wait, _ := strconv.ParseFloat(r.URL.Query().Get("wait"), 64)
		deadline := time.Now().Add(time.Duration(wait * float64(time.Second)))
		for c.count() < expect && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Fprintln(w, c.summary())
	})
	mux.HandleFunc("/ready", func(w http.ResponseWriter, r *http.Request) {
		if !c.readyFlag.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

// receive: the webhook endpoint (POST /hook, or any other path) and the control routes.
func receive(args []string) error {
	fs := flag.NewFlagSet("receive", flag.ExitOnError)
	listen := fs.String("listen", "127.0.0.1:18190", "address to listen on")
	fs.Parse(args)
	c := newCollector()
	c.readyFlag.Store(true)
	mux := http.NewServeMux()
	c.control(mux)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		body, err := io.ReadAll(r.Body)
		var envelope struct {
			Type string `json:"type"`
			Data record `json:"data"`
		}
		if err != nil || json.Unmarshal(body, &envelope) != nil || envelope.Type != "herald.record" {
			c.failed()
		} else {
			c.add(now, r.RemoteAddr, &envelope.Data)
		}
		w.WriteHeader(http.StatusNoContent)
	})
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	server := &http.Server{Handler: mux, IdleTimeout: 5 * time.Minute}
	fmt.Fprintf(os.Stderr, "receiver listening on http://%s\n", ln.Addr())
	return server.Serve(ln)
}

// tail: follows an SSE live tail and serves the control routes on -control.
func tail(args []string) error {
	fs := flag.NewFlagSet("tail", flag.ExitOnError)
	url := fs.String("url", "http://127.0.0.1:18191/topics/bench/live?from=latest", "live tail URL")
	controlAddr := fs.String("control", "127.0.0.1:18192", "control address (/stats, /ready)")
	quickack := fs.Bool("quickack", false, "acknowledge every read at once (TCP_QUICKACK), as a diagnostic: "+
		"it takes the reader's delayed ACKs out of the picture, which only matter when the server's socket holds small writes back (Nagle)")
	fs.Parse(args)
	c := newCollector()
	mux := http.NewServeMux()
	c.control(mux)
	ln, err := net.Listen("tcp", *controlAddr)
	if err != nil {
		return err
	}
	go http.Serve(ln, mux)

	req, err := http.NewRequest("GET", *url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "text/event-stream")
	client := http.DefaultClient
	if *quickack {
		client = &http.Client{Transport: &http.Transport{DialContext: dialQuickAck}}
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		return fmt.Errorf("live tail answered %s (%s)", resp.Status, resp.Header.Get("Content-Type"))
	}
	reader := bufio.NewReaderSize(resp.Body, 1<<20)
	event := ""
	var data []byte
	for {
		line, err := reader.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			return fmt.Errorf("an SSE line longer than 1 MiB")
		}
		if err != nil {
			return fmt.Errorf("live tail ended: %v", err)
		}
		line = bytes.TrimRight(line, "\r\n")
		switch {
		case len(line) == 0: // an event ends
			if event == "record" {
				var r record
				if json.Unmarshal(data, &r) != nil {
					c.failed()
				} else {
					c.add(time.Now(), "live", &r)
				}
			} else if event == "end" || event == "error" {
				return fmt.Errorf("live tail sent %s: %s", event, data)
			}
			event, data = "", data[:0]
		case line[0] == ':': // a comment: the opening one says the tail follows
			c.readyFlag.Store(true)
		case bytes.HasPrefix(line, []byte("event:")):
			event = string(bytes.TrimSpace(line[6:]))
		case bytes.HasPrefix(line, []byte("data:")):
			d := line[5:]
			if len(d) > 0 && d[0] == ' ' {
				d = d[1:]
			}
			if len(data) > 0 {
				data = append(data, '\n')
			}
			data = append(data, d...)
		}
	}
}

// quickAckConn re-arms TCP_QUICKACK after every read (Linux clears it by itself).
type quickAckConn struct {
	net.Conn
	raw syscall.RawConn
}

func (q *quickAckConn) Read(b []byte) (int, error) {
	n, err := q.Conn.Read(b)
	q.raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return n, err
}

func dialQuickAck(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	raw, err := conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return nil, err
	}
	q := &quickAckConn{Conn: conn, raw: raw}
	raw.Control(func(fd uintptr) {
		syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return q, nil
}

// produce: batches of -batch records every batch/rate seconds, on a fixed schedule (a late
// batch is sent at once, never dropped), from -workers concurrent connections.
func produce(args []string) error {
	fs := flag.NewFlagSet("produce", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:18191", "Herald's base URL")
	topic := fs.String("topic", "bench", "topic")
	rate := fs.Int("rate", 5000, "records per second")
	batch := fs.Int("batch", 50, "records per produce request")
	warmup := fs.Duration("warmup", 5*time.Second, "warm-up (records not measured)")
	duration := fs.Duration("duration", 25*time.Second, "measured window")
	workers := fs.Int("workers", 8, "concurrent produce requests at most")
	pad := fs.Int("pad", 0, "bytes of padding in each record's value")
	fs.Parse(args)

	interval := time.Duration(float64(*batch) / float64(*rate) * float64(time.Second))
	total := int((*warmup + *duration) / interval)
	warmBatches := int(*warmup / interval)
	padding := strings.Repeat("x", *pad)
	url := *base + "/topics/" + *topic
	client := &http.Client{Transport: &http.Transport{
		MaxIdleConnsPerHost: *workers,
		DisableCompression:  true,
	}}

	type job struct {
		body     []byte
		measured bool
		sent     time.Time
	}
	jobs := make(chan job, 4096)
	var (
		mu          sync.Mutex
		acks        []float64
		errors      int
		ackedRecs   int
		lastAck     time.Time
		errorSample string
	)
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				start := time.Now()
				resp, err := client.Post(url, "application/vnd.kafka.json.v2+json", bytes.NewReader(j.body))
				ok := false
				msg := ""
				if err == nil {
					answer, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					ok = resp.StatusCode == 200 && !bytes.Contains(answer, []byte(`"error_code":4`)) && !bytes.Contains(answer, []byte(`"error_code":5`))
					if !ok {
						msg = fmt.Sprintf("%s %.200s", resp.Status, answer)
					}
				} else {
					msg = err.Error()
				}
				end := time.Now()
				mu.Lock()
				if !ok {
					errors++
					if errorSample == "" {
						errorSample = msg
					}
				} else if j.measured {
					acks = append(acks, float64(end.Sub(start).Microseconds())/1000)
					ackedRecs += *batch
					lastAck = end
				}
				mu.Unlock()
			}
		}()
	}

	var firstMeasured, lastMeasured time.Time
	measuredRecs := 0
	late := time.Duration(0)
	n := 0
	t0 := time.Now()
	var buf bytes.Buffer
	for i := 0; i < total; i++ {
		due := t0.Add(time.Duration(i) * interval)
		if d := time.Until(due); d > 0 {
			time.Sleep(d)
		} else if -d > late {
			late = -d
		}
		measured := i >= warmBatches
		m := 0
		if measured {
			m = 1
		}
		now := time.Now()
		buf.Reset()
		buf.WriteString(`{"records":[`)
		for k := 0; k < *batch; k++ {
			if k > 0 {
				buf.WriteByte(',')
			}
			// Distinct keys spread a request's records over the partitions.
			fmt.Fprintf(&buf, `{"key":"k%d","value":{"n":%d,"sent_ns":%d,"m":%d`, n, n, now.UnixNano(), m)
			if *pad > 0 {
				fmt.Fprintf(&buf, `,"pad":"%s"`, padding)
			}
			buf.WriteString(`}}`)
			n++
		}
		buf.WriteString(`]}`)
		if measured {
			if firstMeasured.IsZero() {
				firstMeasured = now
			}
			lastMeasured = now
			measuredRecs += *batch
		}
		jobs <- job{body: append([]byte(nil), buf.Bytes()...), measured: measured, sent: now}
	}
	close(jobs)
	wg.Wait()

	window := lastMeasured.Sub(firstMeasured) + interval
	sort.Float64s(acks)
	fmt.Printf("produced=%d send_rate=%.0f ack_rate=%.0f acked=%d errors=%d ack_p50=%.2f ack_p99=%.2f ack_max=%.2f schedule_late_max_ms=%.1f\n",
		measuredRecs, float64(measuredRecs)/window.Seconds(),
		float64(ackedRecs)/lastAck.Sub(firstMeasured).Seconds(), ackedRecs, errors,
		percentile(acks, 50), percentile(acks, 99), percentile(acks, 100), float64(late.Microseconds())/1000)
	if errorSample != "" {
		fmt.Fprintln(os.Stderr, "first produce error:", errorSample)
	}
	return nil
}

// subscribe: creates -n webhook subscriptions named PREFIX-i, -concurrency at a time.
func subscribe(args []string) error {
	fs := flag.NewFlagSet("subscribe", flag.ExitOnError)
	base := fs.String("url", "http://127.0.0.1:18191", "Herald's base URL")
	topic := fs.String("topic", "bench", "topic")
	n := fs.Int("n", 1000, "subscriptions to create")
	prefix := fs.String("prefix", "idle", "name prefix")
	hook := fs.String("hook", "http://127.0.0.1:18190/hook", "receiver URL")
	from := fs.String("from", "latest", "where deliveries start")
	concurrency := fs.Int("concurrency", 4, "requests at once")
	fs.Parse(args)
	url := *base + "/topics/" + *topic + "/subscriptions"
	var next, created, failed int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := atomic.AddInt64(&next, 1) - 1
				if i >= int64(*n) {
					return
				}
				body, _ := json.Marshal(map[string]string{"name": fmt.Sprintf("%s-%d", *prefix, i), "url": *hook, "from": *from})
				resp, err := http.Post(url, "application/json", bytes.NewReader(body))
				if err == nil {
					answer, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 201 {
						atomic.AddInt64(&created, 1)
						continue
					}
					err = fmt.Errorf("%s: %.200s", resp.Status, answer)
				}
				atomic.AddInt64(&failed, 1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}()
	}
	wg.Wait()
	fmt.Printf("created=%d failed=%d seconds=%.2f\n", created, failed, time.Since(start).Seconds())
	if e := firstErr.Load(); e != nil {
		fmt.Fprintln(os.Stderr, "first error:", e)
	}
	return nil
}
