import { describe, expect, it } from 'vitest';
import { adminSocketUrl, interviewSocketUrl, normaliseBase } from './config';

const page = { protocol: 'https:', host: 'app.example.com' };

describe('interviewSocketUrl', () => {
  it('uses the page origin by default', () => {
    expect(interviewSocketUrl('abc', '', page)).toBe('wss://app.example.com/ws/interviews/abc');
    expect(interviewSocketUrl('abc', '', { protocol: 'http:', host: '127.0.0.1:5173' })).toBe(
      'ws://127.0.0.1:5173/ws/interviews/abc',
    );
  });

  it('follows VITE_API_BASE_URL, path prefix included', () => {
    expect(interviewSocketUrl('abc', 'https://api.example.com', page)).toBe('wss://api.example.com/ws/interviews/abc');
    expect(interviewSocketUrl('abc', normaliseBase('http://10.0.0.5:8000/interview/'), page)).toBe(
      'ws://10.0.0.5:8000/interview/ws/interviews/abc',
    );
  });
});

describe('adminSocketUrl', () => {
  it('is /ws/admin beside the interview sockets', () => {
    expect(adminSocketUrl('', page)).toBe('wss://app.example.com/ws/admin');
    expect(adminSocketUrl(normaliseBase('http://10.0.0.5:8000/interview/'), page)).toBe('ws://10.0.0.5:8000/interview/ws/admin');
  });
});
