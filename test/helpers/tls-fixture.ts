/**
 * A self-signed certificate for `localhost` and 127.0.0.1, valid 2000-2100, and its key: for
 * tests that need a TLS server on loopback. It is its own CA. Test use only.
 */
export const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBZTCCAQqgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAlsb2NhbGhv
c3QwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CWxvY2FsaG9zdDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABNhQMPPwu1vrKUYb
Li89kbfF1vtbcWNlOKtKUcCl7Dt+YlL1q4P1Ulio2E0HB/1sRznkXbHZx+SW4nfZ
zqQ9o9mjSzBJMBoGA1UdEQQTMBGCCWxvY2FsaG9zdIcEfwAAATAMBgNVHRMBAf8E
AjAAMB0GA1UdDgQWBBQV1Q2PF8uMvEwDHxPmeil9BuX3xDAKBggqhkjOPQQDAgNJ
ADBGAiEArB/6G+NEIw6/1dGS7RipD2Ykfz3ITGGiIdv4YalRgqMCIQCktf1+bGFT
GqXyF3nltWpianZ5ctwdwLvancUPPvUsJw==
-----END CERTIFICATE-----
`;

export const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgBrRVzRg+hX4FoVWq
y4WYNVd/u6eWKzUwWj2JRzXiIFShRANCAATYUDDz8Ltb6ylGGy4vPZG3xdb7W3Fj
ZTirSlHApew7fmJS9auD9VJYqNhNBwf9bEc55F2x2cfkluJ32c6kPaPZ
-----END PRIVATE KEY-----
`;

/** The certificate to trust for TEST_CERT: itself. */
export const TEST_CA = TEST_CERT;
