package printer

import "fmt"

// RenderPNG encodes the receipt for the profile and renders it as the
// virtual printer would print it: a PNG of the profile's width in dots.
// It is what the agent's receipt.png and `posagent receipt ID --png` use.
// Chinese is drawn with p.CJK; without it, it is omitted (OmittedNote).
func RenderPNG(r Receipt, p Profile) ([]byte, error) {
	p = p.Normalize()
	pages := RenderWith(Encode(r, p), InterpreterOptions{Width: p.Dots, CJK: p.CJK})
	if len(pages) == 0 {
		return nil, fmt.Errorf("printer: render receipt %s: nothing printed", r.PaymentID)
	}
	b, err := pages[0].PNG()
	if err != nil {
		return nil, fmt.Errorf("printer: render receipt %s: %w", r.PaymentID, err)
	}
	return b, nil
}
