package gateway_test

import (
	"fmt"

	"github.com/posagent/posagent/gateway"
	"github.com/posagent/posagent/gateway/internal/envelope"
)

// Sealing the business fields of OTTPay's Appendix A example: the digest
// goes in the envelope's md5, the ciphertext in its data.
func ExampleSeal() {
	fields := envelope.Fields{
		{Key: "orderId", Value: "1234567890"},
		{Key: "idCardName", Value: "张三"},
		{Key: "idCardNum", Value: "123456789012345678"},
		{Key: "bankCardNum", Value: "62000000000010"},
		{Key: "mobile", Value: "13711111111"},
		{Key: "idCardType", Value: "1"},
	}
	data, md5, err := envelope.Seal(fields, "6698851A525C9433")
	if err != nil {
		panic(err)
	}
	fmt.Println(envelope.DigestInput(fields))
	fmt.Println(md5)
	fmt.Println(string(envelope.AESKey(md5, "6698851A525C9433")))
	fmt.Println(data[:24] + "...")
	// Output:
	// 62000000000010张三1234567890123456781137111111111234567890
	// C12F9560769C2CB55E6954935B325916
	// EF1712FC070C2C21
	// Y2+GoqBBPc6EJ9JzXRFoOziK...
}

// Reading what an answer means for the money.
func ExampleClassify() {
	fmt.Println(gateway.Classify(gateway.ActionPassivePay, "SUCCESS", "success"))
	fmt.Println(gateway.Classify(gateway.ActionPassivePay, "PROCESSING", ""))
	fmt.Println(gateway.Classify(gateway.ActionPassivePay, "FAIL", ""))
	fmt.Println(gateway.Classify(gateway.ActionStatusQuery, "SUCCESS", "orderclosed"))
	fmt.Println(gateway.Classify(gateway.ActionRefund, "ORDER_USED", ""))
	// Output:
	// paid
	// unknown
	// failed
	// failed
	// unknown
}
