package stage

import (
	"errors"
	"fmt"
	"sync"

	"github.com/klauspost/compress/zstd"

	newsflowv1 "github.com/newsflow/newsflow/proto/newsflow/v1"
)

// Page bodies travel compressed (Fetch.body_encoding "zstd"): HTML and the
// JSON that pages inline shrink four- to tenfold, so a page up to the
// normalizer's 8 MiB cap fits a NATS message (1 MiB by default), and the raw
// stream, which keeps pages for replay, holds that much less. At the
// fastest level, compressing and reading back the extraction benchmark's
// pages (188 KB on average) took 0.8 ms a page here, and shrank them 4.8
// times (BenchmarkPageBody).

// BodyZstd is Fetch.body_encoding for a zstd-compressed body.
const BodyZstd = "zstd"

// MaxBodyBytes bounds a decompressed body, so a hostile or corrupt frame
// cannot make a stage allocate without limit. It is well above any page
// cap a stage accepts.
const MaxBodyBytes = 64 << 20

var (
	bodyEncoder = sync.OnceValue(func() *zstd.Encoder {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err) // only for invalid options
		}
		return e
	})
	bodyDecoder = sync.OnceValue(func() *zstd.Decoder {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(MaxBodyBytes))
		if err != nil {
			panic(err)
		}
		return d
	})
)

// CompressBody compresses f's body in place, unless it is empty or already
// compressed.
func CompressBody(f *newsflowv1.Fetch) {
	if f == nil || len(f.Body) == 0 || f.BodyEncoding != "" {
		return
	}
	f.Body = bodyEncoder().EncodeAll(f.Body, make([]byte, 0, len(f.Body)/4))
	f.BodyEncoding = BodyZstd
}

// ErrBody is a page body that cannot be decoded: a permanent error.
var ErrBody = errors.New("undecodable page body")

// FetchBody returns f's page body, decompressed if the fetcher compressed
// it. An unknown encoding or a corrupt frame is a Permanent error (reason
// "body").
func FetchBody(f *newsflowv1.Fetch) ([]byte, error) {
	switch f.GetBodyEncoding() {
	case "":
		return f.GetBody(), nil
	case BodyZstd:
		b, err := bodyDecoder().DecodeAll(f.GetBody(), nil)
		if err != nil {
			return nil, Permanent("body", fmt.Errorf("%w: zstd: %v", ErrBody, err))
		}
		return b, nil
	default:
		return nil, Permanent("body", fmt.Errorf("%w: unknown encoding %q", ErrBody, f.GetBodyEncoding()))
	}
}
