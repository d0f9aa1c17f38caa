import { api, call, type Schemas } from './client';

export type ResumeExtracted = Schemas['ResumeExtracted'];

/** The text of a PDF, Word (.docx) or text résumé, read by the server (nothing is stored). */
export function extractResume(file: File): Promise<ResumeExtracted> {
  const form = new FormData();
  form.append('file', file, file.name);
  return call(
    api.POST('/api/resumes/extract', {
      // The schema types the multipart body as an object; the browser sends the FormData.
      body: form as unknown as { file: string },
      bodySerializer: (body) => body as unknown as FormData,
    }),
  );
}
