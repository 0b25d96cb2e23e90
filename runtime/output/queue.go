package output

import "sync"

// queue is one channel's queue of alerts: a ring that grows up to its
// capacity (0: without bound, as Falco's outputs_queue.capacity 0). push
// never blocks; pop blocks until an alert is there or the queue is closed
// and empty. Safe for one pusher group and one popper.
type queue struct {
	mu     sync.Mutex
	ring   []*shared
	head   int
	n      int
	limit  int // 0: unbounded
	closed bool
	ready  chan struct{} // one token: something was pushed or the queue closed
}

func newQueue(limit int) *queue {
	initial := 64
	if limit > 0 && limit < initial {
		initial = limit
	}
	return &queue{ring: make([]*shared, initial), limit: limit, ready: make(chan struct{}, 1)}
}

// push appends s and reports whether it fit.
func (q *queue) push(s *shared) bool {
	q.mu.Lock()
	if q.closed || (q.limit > 0 && q.n >= q.limit) {
		q.mu.Unlock()
		return false
	}
	if q.n == len(q.ring) {
		size := 2 * len(q.ring)
		if q.limit > 0 && size > q.limit {
			size = q.limit
		}
		ring := make([]*shared, size)
		for i := range q.n {
			ring[i] = q.ring[(q.head+i)%len(q.ring)]
		}
		q.ring, q.head = ring, 0
	}
	q.ring[(q.head+q.n)%len(q.ring)] = s
	q.n++
	q.mu.Unlock()
	q.signal()
	return true
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop returns the oldest alert, waiting for one; false when the queue is
// closed and empty.
func (q *queue) pop() (*shared, bool) {
	for {
		q.mu.Lock()
		if q.n > 0 {
			s := q.ring[q.head]
			q.ring[q.head] = nil
			q.head = (q.head + 1) % len(q.ring)
			q.n--
			q.mu.Unlock()
			return s, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return nil, false
		}
		<-q.ready
	}
}

// close makes push fail from now on; pop drains what is queued.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.n
}
