package stage

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
)

// EnvFailpoint names the environment variable that arms a crash for tests
// of the delivery guarantees: "crash-after-publish:N" makes the process kill
// itself (SIGKILL) right after its N-th output is stored by JetStream and
// before the input is acked, the one moment a crash leaves a published but
// unacknowledged message. Never set it in production.
const EnvFailpoint = "NEWSFLOW_FAILPOINT"

// failpoint counts publishes towards an armed crash; the zero value is off.
type failpoint struct {
	after     int64
	published atomic.Int64
}

func parseFailpoint(v string) (*failpoint, error) {
	if v == "" {
		return &failpoint{}, nil
	}
	n, ok := strings.CutPrefix(v, "crash-after-publish:")
	after, err := strconv.ParseInt(n, 10, 64)
	if !ok || err != nil || after < 1 {
		return nil, fmt.Errorf("%s=%q: want crash-after-publish:N with N ≥ 1", EnvFailpoint, v)
	}
	return &failpoint{after: after}, nil
}

// published is called after an output was stored and before the ack.
func (f *failpoint) afterPublish() {
	if f.after > 0 && f.published.Add(1) == f.after {
		p, err := os.FindProcess(os.Getpid())
		if err == nil {
			_ = p.Kill()
		}
		select {} // the signal is on its way; never ack
	}
}
