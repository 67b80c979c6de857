import { describe, expect, it } from 'vitest';
import { amzDate, signRequest } from './sigv4.ts';

describe('SigV4', () => {
  it('matches the AWS SigV4 test suite vector post-vanilla', () => {
    const h = signRequest(
      {
        method: 'POST',
        host: 'example.amazonaws.com',
        path: '/',
        region: 'us-east-1',
        service: 'service',
        headers: {},
        body: '',
        nowMs: Date.parse('2015-08-30T12:36:00Z'),
      },
      { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
    );
    expect(h.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b',
    );
    expect(amzDate(Date.parse('2015-08-30T12:36:00Z'))).toBe('20150830T123600Z');
  });
});
