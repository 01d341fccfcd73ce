// Package qrcode reads the QR code in an image. Phishing puts its link in
// one ("quishing": "scan the code to keep your mailbox") so that text
// filters and link scanners never see the address, and the victim opens it
// on a phone, outside the company's protection. The message parser gives
// the codes' text to the checks, and their links join the message's links.
package qrcode

import (
	"errors"
	"fmt"
	"image"

	"github.com/makiuchi-d/gozxing"
	gozxingqr "github.com/makiuchi-d/gozxing/qrcode"

	"github.com/scilla-mail/scilla/server/imghash"
)

// MinSide is the smallest image side searched: a QR code needs at least two
// pixels for each of its 21 or more modules, so smaller images are icons,
// spacers and tracking pixels.
const MinSide = 42

// ErrNone is returned for an image without a readable QR code.
var ErrNone = errors.New("qrcode: no QR code")

// Read returns the text of the QR code in an encoded GIF, PNG or JPEG image.
// Decoding is bounded as imghash.Decode bounds it; an image that does not
// decode, or holds no code, is an error.
func Read(b []byte) (string, error) {
	img, err := imghash.Decode(b)
	if err != nil {
		return "", err
	}
	return ReadImage(img)
}

// ReadImage returns the text of the QR code in a decoded image.
func ReadImage(img image.Image) (text string, err error) {
	if r := img.Bounds(); r.Dx() < MinSide || r.Dy() < MinSide {
		return "", ErrNone
	}
	// The decoder comes from outside and reads what senders made: a panic
	// in it is a broken image, never a failed scan.
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("qrcode: decoder failed: %v", r)
		}
	}()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		return "", fmt.Errorf("qrcode: %w", err)
	}
	res, err := gozxingqr.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		return "", ErrNone // the decoder's not-found, checksum and format errors alike
	}
	return res.GetText(), nil
}
