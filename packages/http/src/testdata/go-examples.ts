/** Go Micro's unary JSON request of the reference's §3.7 example A, byte for byte. */
export const exampleA =
  "POST / HTTP/1.1\r\n" +
  "Host: 10.0.0.5:8080\r\n" +
  "User-Agent: Go-http-client/1.1\r\n" +
  "Content-Length: 17\r\n" +
  "Accept: application/json\r\n" +
  "Content-Type: application/json\r\n" +
  "Micro-Endpoint: Greeter.Hello\r\n" +
  "Micro-Id: 0\r\n" +
  "Micro-Method: Greeter.Hello\r\n" +
  "Micro-Service: greeter\r\n" +
  "Timeout: 5000000000\r\n" +
  "\r\n" +
  '{"name":"Alice"}\n';
