import { describe, expect, it } from 'vitest';
import type { AudioAckFrame, TranscriptFinalFrame } from '../api/protocol';
import { audioAck, checkedClientFrame, transcriptFinal } from '../test/frames';
import { newUploadId, Upload, type UploadOutput } from './upload';

const ID = 'rec_0123456789abcdef';

/** Outputs as short words ("start", "chunk 3", "end 4", "cancel"), each frame checked against the schema. */
function said(outputs: UploadOutput[]): string[] {
  return outputs.map((o) => {
    if (o.kind === 'chunk') return `chunk ${o.index}`;
    const frame = checkedClientFrame(o.frame);
    switch (frame.type) {
      case 'audio.start':
        return 'start';
      case 'audio.end':
        return `end ${frame.chunks}`;
      default:
        return 'cancel';
    }
  });
}

const ack = (next: number, complete = false, uploadId = ID): AudioAckFrame => audioAck(uploadId, next, complete);
const transcript = (uploadId = ID): TranscriptFinalFrame =>
  transcriptFinal(uploadId, { turn: 2, text: 'I would add an index' });

const pcm = (n = 8000) => new Uint8Array(n);

/** An upload on a ready socket with `chunks` recorded and sent. */
function recorded(chunks: number): Upload {
  const upload = new Upload(ID, 2);
  upload.linkUp();
  for (let i = 0; i < chunks; i++) upload.addChunk(pcm());
  return upload;
}

describe('Upload: the happy path', () => {
  it('starts, streams each chunk as it is recorded, ends with the count, and takes the transcript', () => {
    const upload = new Upload(ID, 2);
    const start = upload.linkUp();
    expect(said(start)).toEqual(['start']);
    expect(start[0]).toMatchObject({ frame: { upload_id: ID, turn: 2, format: 'pcm_s16le', sample_rate: 16000, channels: 1 } });
    expect(said(upload.addChunk(pcm()))).toEqual(['chunk 0']);
    expect(said(upload.addChunk(pcm()))).toEqual(['chunk 1']);
    expect(said(upload.addChunk(pcm(4000)))).toEqual(['chunk 2']);
    expect(upload.recordedMs).toBe(625);
    expect(said(upload.finish())).toEqual(['end 3']);
    expect(upload.stage).toBe('finishing');
    upload.onAck(ack(3, true));
    expect(upload.stage).toBe('transcribing');
    expect(upload.onTranscript(transcript())).toBe(true);
    expect(upload.stage).toBe('transcribed');
    expect(upload.transcript?.text).toBe('I would add an index');
  });

  it('is transcribing once every chunk is acknowledged and audio.end has gone (the end gets no ack)', () => {
    const upload = recorded(2);
    upload.onAck(ack(1));
    upload.finish();
    expect(upload.stage).toBe('finishing');
    upload.onAck(ack(2));
    expect(upload.stage).toBe('transcribing');
  });

  it('keeps every chunk in memory until an ack covers it', () => {
    const upload = recorded(5);
    expect(upload.unacknowledged).toBe(5);
    upload.onAck(ack(2));
    expect(upload.unacknowledged).toBe(3);
    upload.onAck(ack(1)); // late, out of date: changes nothing
    expect(upload.unacknowledged).toBe(3);
    upload.onAck(ack(5));
    expect(upload.unacknowledged).toBe(0);
    expect(upload.receivedMs).toBe(1250);
  });

  it('holds what is recorded before the socket is ready, and sends it all once it is', () => {
    const upload = new Upload(ID, 2);
    expect(upload.addChunk(pcm())).toEqual([]);
    expect(upload.addChunk(pcm())).toEqual([]);
    expect(said(upload.linkUp())).toEqual(['start', 'chunk 0', 'chunk 1']);
  });

  it('ignores acks and transcripts of other uploads', () => {
    const upload = recorded(2);
    upload.onAck(ack(2, false, 'another-upload'));
    expect(upload.unacknowledged).toBe(2);
    expect(upload.onTranscript(transcript('another-upload'))).toBe(false);
    expect(upload.stage).toBe('recording');
  });
});

describe('Upload: resuming after a reconnect', () => {
  it('mid-recording: sends audio.start again, waits for the ack, then resends from next_chunk', () => {
    const upload = recorded(6);
    upload.onAck(ack(4));
    upload.linkDown();
    // Recording goes on while the socket is away.
    expect(upload.addChunk(pcm())).toEqual([]);
    expect(upload.addChunk(pcm())).toEqual([]);
    expect(said(upload.linkUp())).toEqual(['start']);
    expect(upload.awaitingAck).toBe(true);
    expect(upload.addChunk(pcm())).toEqual([]); // still waiting to hear where the server is
    expect(said(upload.onAck(ack(5)))).toEqual(['chunk 5', 'chunk 6', 'chunk 7', 'chunk 8']);
    expect(said(upload.addChunk(pcm()))).toEqual(['chunk 9']);
    expect(said(upload.finish())).toEqual(['end 10']);
  });

  it('after the recording finished but before the end was accepted: the missing chunks, then audio.end', () => {
    const upload = recorded(4);
    upload.finish();
    upload.linkDown();
    expect(said(upload.linkUp())).toEqual(['start']);
    expect(said(upload.onAck(ack(3)))).toEqual(['chunk 3', 'end 4']);
  });

  it('when the end was accepted but the transcript never came: audio.end again, to get it', () => {
    const upload = recorded(3);
    upload.finish();
    upload.onAck(ack(3, true));
    expect(upload.stage).toBe('transcribing');
    upload.linkDown();
    expect(said(upload.linkUp())).toEqual(['start']);
    expect(said(upload.onAck(ack(3, true)))).toEqual(['end 3']);
    upload.onTranscript(transcript());
    expect(upload.stage).toBe('transcribed');
    // Nothing is resumed once the transcript is here.
    upload.linkDown();
    expect(upload.linkUp()).toEqual([]);
  });

  it('goes on from the last ack it has when the resume is never acknowledged', () => {
    const upload = recorded(3);
    upload.onAck(ack(2));
    upload.linkDown();
    upload.linkUp();
    expect(said(upload.onStartTimeout())).toEqual(['chunk 2']);
  });

  it('gives up (record again) when the server has less than it acknowledged before (the upload expired)', () => {
    const upload = recorded(4);
    upload.onAck(ack(3));
    upload.linkDown();
    upload.linkUp();
    expect(upload.onAck(ack(0))).toEqual([]);
    expect(upload.stage).toBe('lost');
    expect(upload.problem?.remedy).toBe('record-again');
  });
});

describe('Upload: gaps the server reports', () => {
  it('audio_out_of_order: resends from the ack that follows, once, whatever stale errors arrive meanwhile', () => {
    const upload = recorded(6); // chunk 2 never arrived; 3, 4, 5 are refused one by one
    upload.onAck(ack(1));
    upload.onAck(ack(2));
    expect(upload.onError('audio_out_of_order', 'chunk 3 arrived before chunk 2', true)).toEqual([]);
    expect(upload.rewindPending).toBe(true);
    expect(said(upload.onAck(ack(2)))).toEqual(['chunk 2', 'chunk 3', 'chunk 4', 'chunk 5']);
    // The refusals of 4 and 5, sent before the resend, arrive now: nothing is sent again.
    upload.onError('audio_out_of_order', 'chunk 4 arrived before chunk 2', true);
    expect(upload.onAck(ack(2))).toEqual([]);
    upload.onError('audio_out_of_order', 'chunk 5 arrived before chunk 2', true);
    expect(upload.onAck(ack(2))).toEqual([]);
    // The resent chunks arrive.
    expect(upload.onAck(ack(3))).toEqual([]);
    expect(upload.onAck(ack(6))).toEqual([]);
    expect(upload.unacknowledged).toBe(0);
  });

  it('a new gap after progress is resent again', () => {
    const upload = recorded(4);
    upload.onError('audio_out_of_order', 'gap', true);
    expect(said(upload.onAck(ack(1)))).toEqual(['chunk 1', 'chunk 2', 'chunk 3']);
    upload.onAck(ack(3));
    upload.addChunk(pcm());
    upload.addChunk(pcm());
    upload.onError('audio_out_of_order', 'gap', true);
    expect(said(upload.onAck(ack(3)))).toEqual(['chunk 3', 'chunk 4', 'chunk 5']);
  });

  it('audio_incomplete: resends the missing chunks, then audio.end again', () => {
    const upload = recorded(4);
    upload.finish();
    upload.onError('audio_incomplete', '4 chunks were announced and 2 arrived', true);
    expect(said(upload.onAck(ack(2)))).toEqual(['chunk 2', 'chunk 3', 'end 4']);
    upload.onAck(ack(4, true));
    expect(upload.stage).toBe('transcribing');
  });

  it('resends from the last ack when the ack came before the error', () => {
    const upload = recorded(3);
    upload.finish();
    upload.onAck(ack(1));
    upload.onError('audio_incomplete', 'resend from chunk 1', true);
    expect(said(upload.onRewindTimeout())).toEqual(['chunk 1', 'chunk 2', 'end 3']);
  });

  it('audio_too_long: keeps what the server took and ends the recording there', () => {
    const upload = recorded(5);
    upload.onError('audio_too_long', 'answers are limited to 180 s of audio', false);
    expect(upload.stage).toBe('finishing');
    expect(upload.addChunk(pcm())).toEqual([]);
    expect(said(upload.onAck(ack(3)))).toEqual(['end 3']);
    expect(upload.problem?.message).toMatch(/180 s/);
  });
});

describe('Upload: refusals and failures', () => {
  it('too_many_uploads: keeps recording locally, and "try again" starts over from chunk 0', () => {
    const upload = new Upload(ID, 2);
    upload.linkUp();
    upload.addChunk(pcm());
    upload.onError('too_many_uploads', 'Too many recordings are being uploaded right now', true);
    expect(upload.problem?.remedy).toBe('retry-start');
    expect(upload.addChunk(pcm())).toEqual([]);
    expect(said(upload.retryStart())).toEqual(['start', 'chunk 0', 'chunk 1']);
    expect(upload.problem).toBeNull();
  });

  it('too_many_uploads: the refusals of the chunks sent after the refused start change nothing', () => {
    const upload = new Upload(ID, 2);
    upload.addChunk(pcm());
    upload.addChunk(pcm());
    expect(said(upload.linkUp())).toEqual(['start', 'chunk 0', 'chunk 1']);
    upload.onError('too_many_uploads', 'Too many recordings', true);
    expect(upload.onError('audio_not_started', 'no open recording', false)).toEqual([]);
    expect(upload.onError('audio_not_started', 'no open recording', false)).toEqual([]);
    expect(upload.stage).toBe('recording');
    expect(upload.problem?.code).toBe('too_many_uploads');
    expect(said(upload.retryStart())).toEqual(['start', 'chunk 0', 'chunk 1']);
  });

  it('audio_not_started: starts again once and resends from where the ack says; twice is lost', () => {
    const upload = recorded(3);
    expect(said(upload.onError('audio_not_started', 'binary frames carry audio between…', false))).toEqual(['start']);
    expect(said(upload.onAck(ack(1)))).toEqual(['chunk 1', 'chunk 2']);
    upload.onError('audio_not_started', 'again', false);
    expect(upload.stage).toBe('lost');
  });

  it('transcription_failed (retryable): "try again" sends audio.end again, on a new socket after a new start', () => {
    const upload = recorded(2);
    upload.finish();
    upload.onAck(ack(2, true));
    upload.onError('transcription_failed', 'Your answer could not be transcribed (busy). Try again, or type it.', true);
    expect(upload.stage).toBe('failed');
    expect(upload.problem?.remedy).toBe('retry-transcription');
    expect(said(upload.retryTranscription())).toEqual(['end 2']);
    expect(upload.stage).toBe('transcribing');

    upload.onError('transcription_failed', 'again', true);
    upload.linkDown();
    expect(upload.linkUp()).toEqual([]); // a failed one waits for the candidate
    expect(said(upload.retryTranscription())).toEqual(['start']);
    expect(said(upload.onAck(ack(2, true)))).toEqual(['end 2']);
  });

  it('a transcription that cannot succeed offers recording again', () => {
    const upload = recorded(1);
    upload.finish();
    upload.onError('transcription_failed', 'Please type it.', false);
    expect(upload.problem?.remedy).toBe('record-again');
  });

  it('upload_not_found and upload_id_reused lose the recording; an unsupported format means typing', () => {
    for (const code of ['upload_not_found', 'upload_id_reused'] as const) {
      const upload = recorded(2);
      upload.onError(code, 'record the answer again', false);
      expect(upload.stage).toBe('lost');
      expect(upload.problem).toEqual({ code, message: 'record the answer again', remedy: 'record-again' });
      expect(upload.unacknowledged).toBe(0);
      expect(upload.linkUp()).toEqual([]);
    }
    const upload = recorded(1);
    upload.onError('audio_format_unsupported', 'audio must be pcm_s16le', false);
    expect(upload.problem?.remedy).toBe('type');
  });

  it('cancel tells the server to discard it, and nothing more goes out', () => {
    const upload = recorded(2);
    expect(said(upload.cancel())).toEqual(['cancel']);
    expect(upload.addChunk(pcm())).toEqual([]);
    expect(upload.linkUp()).toEqual([]);
    // Never started on a socket: nothing to tell.
    expect(new Upload(ID, 2).cancel()).toEqual([]);
  });
});

describe('newUploadId', () => {
  it('is 22 characters of base64url, different each time', () => {
    const a = newUploadId();
    expect(a).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(newUploadId()).not.toBe(a);
    expect(newUploadId((b) => b.fill(255))).toBe('_____________________w');
  });
});
