import { QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router';
import { afterEach, describe, expect, it, vi } from 'vitest';

// Node's Request (used by openapi-fetch) needs an absolute URL; set before the client loads.
vi.hoisted(() => {
  vi.stubEnv('VITE_API_BASE_URL', 'http://api.test');
});

import { makeQueryClient } from '../App';
import { NewInterview } from './NewInterview';

interface Sent {
  path: string;
  fileName: string | null;
}

/** The server's résumé reader (and whatever else the page asks, with nothing to say). */
function stubServer(answer: () => Response): Sent[] {
  const sent: Sent[] = [];
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const request = input instanceof Request ? input : new Request(String(input), init);
      const path = new URL(request.url).pathname;
      if (path === '/api/resumes/extract') {
        const form = await request.formData();
        const file = form.get('file');
        // Node's own File class, not jsdom's: read the name without instanceof.
        const name = file !== null && typeof file === 'object' && 'name' in file ? String(file.name) : null;
        sent.push({ path, fileName: name });
        return answer();
      }
      return Response.json({ code: 'not_found', detail: 'Not found.' }, { status: 404 });
    }),
  );
  return sent;
}

function renderForm() {
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <MemoryRouter>
        <NewInterview />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('NewInterview: a PDF or Word résumé', () => {
  it('is read by the server and its text fills the résumé box', async () => {
    const sent = stubServer(() =>
      Response.json({ text: 'Asha Rao, backend engineer\nBuilt Kafka pipelines.', kind: 'pdf', pages: 2, truncated: false }),
    );
    renderForm();
    const picker = screen.getByLabelText('Upload PDF, Word or .txt');
    await userEvent.upload(picker, new File([new Uint8Array([37, 80, 68, 70])], 'cv.pdf', { type: 'application/pdf' }));
    await waitFor(() => expect(screen.getByPlaceholderText('Paste your resume here')).toHaveValue('Asha Rao, backend engineer\nBuilt Kafka pipelines.'));
    // One multipart part named "file" (jsdom's File loses its name in Node's FormData).
    expect(sent).toHaveLength(1);
    expect(sent[0].fileName).not.toBeNull();
    expect(screen.getByText(/Loaded cv\.pdf \(2 pages\)/)).toBeInTheDocument();
  });

  it("shows the server's reason when the file cannot be read, and keeps what was typed", async () => {
    stubServer(() =>
      Response.json(
        { code: 'resume_no_text', detail: 'This PDF has no text layer (a scan?). Paste the text instead.' },
        { status: 422 },
      ),
    );
    renderForm();
    const box = screen.getByPlaceholderText('Paste your resume here');
    await userEvent.type(box, 'typed by hand');
    await userEvent.upload(screen.getByLabelText('Upload PDF, Word or .txt'), new File(['x'], 'scan.pdf', { type: 'application/pdf' }));
    await waitFor(() => expect(screen.getByText(/no text layer/)).toBeInTheDocument());
    expect(box).toHaveValue('typed by hand');
  });
});
