// Package image is the engine check that compares the perceptual hashes of
// the message's images with the signatures of known spam images in the
// content database, so image spam is caught after re-encoding or resizing.
package image

import (
	"context"
	"fmt"

	"github.com/scilla-mail/scilla/server/engine"
	"github.com/scilla-mail/scilla/server/imghash"
)

// Score of a known spam image.
const Score = 4.0

// maxImages bounds the decoding work per message.
const maxImages = 8

// Check is the image-signature check.
type Check struct{}

// New returns the check.
func New() *Check { return &Check{} }

// Name implements engine.Check.
func (*Check) Name() string { return "image" }

// Run implements engine.Check.
func (*Check) Run(ctx context.Context, in *engine.Input) (engine.Result, error) {
	if in.DB == nil || in.DB.Images.Len() == 0 {
		return engine.Result{}, nil
	}
	for i, p := range in.Msg.Images {
		if i >= maxImages || ctx.Err() != nil {
			break
		}
		img := p.Pixels
		if img == nil {
			var err error
			if img, err = imghash.Decode(p.Body); err != nil {
				continue
			}
		}
		h, err := imghash.OfImage(img)
		if err != nil {
			continue
		}
		if d := in.DB.Images.Nearest(h); d <= imghash.MaxDistance {
			return engine.Result{Signs: []engine.Sign{{
				Name:   "IMAGE_SPAM",
				Score:  Score,
				Desc:   fmt.Sprintf("Image matches a known spam image (distance %d)", d),
				Method: "image",
			}}}, nil
		}
	}
	return engine.Result{}, nil
}
