package printer

import (
	"image"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// sampleReceipt is a paid scan payment with a refund, a footer and a QR.
func sampleReceipt() Receipt {
	return Receipt{
		Copy:       "customer",
		Merchant:   "Maple Tea House",
		Address:    []string{"123 King St W", "Toronto ON M5V 1J2"},
		Terminal:   "LANE1",
		Time:       time.Date(2026, 11, 25, 18, 30, 5, 0, time.UTC),
		PaymentID:  "pay_01JDQ3V7",
		OrderID:    "ON00004652LANE1000123",
		Mode:       "scan",
		Wallet:     "wechat",
		Amount:     1250,
		Currency:   "CAD",
		CodeMasked: "1345********1234",
		State:      "succeeded",
		Refunds:    []RefundLine{{OrderID: "ON00004652LANE1000124", Amount: 500, State: "succeeded", Time: time.Date(2026, 11, 25, 18, 45, 0, 0, time.UTC)}},
		Footer:     []string{"Thank you for your visit!", "Keep this receipt for refunds."},
		QR:         "https://pay.example.com/r/pay_01JDQ3V7",
	}
}

// decodeQR finds and decodes one QR code in img with gozxing.
func decodeQR(t testing.TB, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("bitmap: %v", err)
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	return res.GetText()
}
