import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { AudioControlFrame } from '../api/protocol';
import type { RecordingLink } from '../hooks/useInterviewSocket';
import { audioAck, checkedClientFrame, frameError, transcriptFinal } from '../test/frames';
import { FakeMicrophone } from '../test/voice';
import { AUTO_SUBMIT_MS, VoiceController, type VoiceRoomState } from './controller';
import { parseChunkFrame } from './framing';
import { DEFAULT_VOICE_SETTINGS, type VoiceSettings } from './settings';

class FakeLink implements RecordingLink {
  ready = true;
  /** What was sent, in order: "start", "chunk 3", "end 4", "cancel". */
  log: string[] = [];
  controls: AudioControlFrame[] = [];

  sendAudioControl(frame: AudioControlFrame): boolean {
    if (!this.ready) return false;
    this.controls.push(checkedClientFrame(frame));
    this.log.push(frame.type === 'audio.end' ? `end ${frame.chunks}` : frame.type.replace('audio.', ''));
    return true;
  }

  sendAudioChunk(frame: Uint8Array): boolean {
    if (!this.ready) return false;
    this.log.push(`chunk ${parseChunkFrame(frame).index}`);
    return true;
  }

  take(): string[] {
    const out = this.log;
    this.log = [];
    return out;
  }

  get uploadId(): string {
    const start = [...this.controls].reverse().find((f) => f.type === 'audio.start');
    if (!start) throw new Error('no audio.start was sent');
    return start.upload_id;
  }
}

let now = 1_000_000;

function setup(over: { settings?: Partial<VoiceSettings>; maxRecordingMs?: number; storage?: Storage } = {}) {
  const link = new FakeLink();
  const mic = new FakeMicrophone();
  const submit = vi.fn((_text: string, _spoken: { uploadId: string | null } | null) => true);
  const onBargeIn = vi.fn();
  const controller = new VoiceController({
    link,
    openMicrophone: async () => mic,
    submit,
    onBargeIn,
    now: () => now,
    maxRecordingMs: over.maxRecordingMs,
    storage: over.storage ?? null,
    draftKey: 'voice.iv1',
  });
  const settings: VoiceSettings = { ...DEFAULT_VOICE_SETTINGS, ...over.settings };
  const room = (state: Partial<VoiceRoomState>): VoiceRoomState => ({
    phase: 'listening',
    openTurn: 0,
    asking: false,
    speaking: false,
    settings,
    ...state,
  });
  return { link, mic, submit, onBargeIn, controller, room };
}

function advance(ms: number) {
  now += ms;
  vi.advanceTimersByTime(ms);
}

beforeEach(() => {
  vi.useFakeTimers();
  now = 1_000_000;
});
afterEach(() => vi.useRealTimers());

describe('VoiceController: hands-free', () => {
  it('records when the question ends, stops after the silence that follows speech, and sends the transcript by itself', async () => {
    const { link, mic, submit, controller, room } = setup();
    await controller.openMic();
    controller.sync(room({ phase: 'asking', asking: true }));
    expect(mic.starts).toHaveLength(0);
    controller.sync(room({ phase: 'listening' }));
    expect(controller.getSnapshot()).toMatchObject({ recording: true, reason: 'hands-free' });
    expect(link.take()).toEqual(['start']);

    mic.silence(400); // thinking first: no speech yet, so silence does not stop it
    mic.speak(1000);
    expect(controller.getSnapshot().heardSpeech).toBe(true);
    mic.silence(1980);
    expect(controller.getSnapshot().recording).toBe(true);
    mic.silence(20); // 2 s of silence after speech
    await vi.waitFor(() => expect(controller.getSnapshot().recording).toBe(false));
    await vi.waitFor(() => expect(controller.getSnapshot().upload?.stage).toBe('finishing'));
    const sent = link.take();
    expect(sent.filter((s) => s.startsWith('chunk'))).toHaveLength(14); // 3.4 s of audio
    expect(sent.at(-1)).toBe('end 14');

    const id = link.uploadId;
    controller.frame(audioAck(id, 14, true));
    expect(controller.getSnapshot().upload?.stage).toBe('transcribing');
    controller.frame(transcriptFinal(id, { text: 'I would shard by tenant', rough: true }));
    const snap = controller.getSnapshot();
    expect(snap.draft).toMatchObject({ turn: 0, uploadId: id, text: 'I would shard by tenant', rough: true, edited: false });
    expect(snap.autoSubmitAt).toBe(now + AUTO_SUBMIT_MS);
    advance(AUTO_SUBMIT_MS - 1);
    expect(submit).not.toHaveBeenCalled();
    advance(1);
    expect(submit).toHaveBeenCalledWith('I would shard by tenant', { uploadId: id });
  });

  it('waits for the interviewer to finish speaking before it records', async () => {
    const { mic, controller, room } = setup();
    await controller.openMic();
    controller.sync(room({ speaking: true }));
    expect(mic.starts).toHaveLength(0);
    controller.sync(room({ speaking: false }));
    expect(mic.starts).toHaveLength(1);
  });

  it('does not send by itself once the candidate edits the transcript; the edit is what is sent', async () => {
    const { link, mic, submit, controller, room } = setup();
    await controller.openMic();
    controller.sync(room({}));
    mic.speak(500);
    await controller.stopRecording();
    controller.frame(transcriptFinal(link.uploadId, { text: 'I would add an index' }));
    expect(controller.getSnapshot().autoSubmitAt).not.toBeNull();
    controller.setDraftText('I would add an index on user_id');
    expect(controller.getSnapshot().autoSubmitAt).toBeNull();
    advance(10_000);
    expect(submit).not.toHaveBeenCalled();
    expect(controller.submit()).toBe(true);
    expect(submit).toHaveBeenCalledWith('I would add an index on user_id', { uploadId: link.uploadId });
  });

  it('starts by itself once per question: after "record again" or a dropped recording it waits for the button', async () => {
    const { mic, controller, room } = setup();
    await controller.openMic();
    controller.sync(room({}));
    controller.discardRecording();
    controller.sync(room({}));
    expect(mic.starts).toHaveLength(1);
    expect(controller.startRecording('button')).toBe(true);
  });
});

describe('VoiceController: push-to-talk', () => {
  it('records between press and release; silence does not end it; a tap is too short', async () => {
    const { link, mic, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    expect(mic.starts).toHaveLength(0);
    expect(controller.startRecording('button')).toBe(true);
    expect(mic.starts).toEqual([{ take: 1, preroll: false }]);
    mic.speak(600);
    mic.silence(5000);
    expect(controller.getSnapshot().recording).toBe(true);
    await controller.stopRecording();
    expect(link.take().at(-1)).toBe('end 23');
    expect(controller.getSnapshot().autoSubmitAt).toBeNull();

    controller.frame(transcriptFinal(link.uploadId));
    // Pressing again records a new answer in place of that one.
    expect(controller.startRecording('button')).toBe(true);
    expect(controller.getSnapshot().draft).toBeNull();
    mic.speak(200);
    await controller.stopRecording();
    expect(link.take()).toEqual(['start', 'chunk 0', 'cancel']);
    expect(controller.getSnapshot().upload).toBeNull();
    expect(controller.getSnapshot().notice).toMatch(/too short/);
  });

  it('stops at the time limit and sends what it has', async () => {
    const { link, mic, controller, room } = setup({ settings: { handsFree: false }, maxRecordingMs: 2_000 });
    await controller.openMic();
    controller.sync(room({}));
    controller.startRecording('button');
    mic.speak(2_500);
    await vi.waitFor(() => expect(controller.getSnapshot().upload?.stage).toBe('finishing'));
    expect(link.take().at(-1)).toBe('end 8');
    expect(controller.getSnapshot().notice).toMatch(/stop at 2 seconds/);
  });
});

describe('VoiceController: barge-in', () => {
  it('when the candidate speaks over the interviewer: stops it, records with the pre-roll, and uploads at once', async () => {
    const { link, mic, onBargeIn, controller, room } = setup();
    await controller.openMic();
    controller.sync(room({ phase: 'asking', asking: true, speaking: true }));
    mic.speak(200); // not long enough to count as barging in
    expect(onBargeIn).not.toHaveBeenCalled();
    mic.silence(100);
    mic.speak(300);
    expect(onBargeIn).toHaveBeenCalledTimes(1);
    expect(mic.starts).toEqual([{ take: 1, preroll: true }]);
    expect(controller.getSnapshot()).toMatchObject({ recording: true, reason: 'barge-in', heardSpeech: true });
    expect(link.take()).toEqual(['start']);
    // It ends on silence, like hands-free, even in push-to-talk mode.
    mic.speak(1000);
    mic.silence(2000);
    await vi.waitFor(() => expect(controller.getSnapshot().upload?.stage).toBe('finishing'));
  });

  it('does not barge in when turned off, when the interviewer is quiet, or over a transcript', async () => {
    const off = setup({ settings: { bargeIn: false } });
    await off.controller.openMic();
    off.controller.sync(off.room({ phase: 'asking', asking: true }));
    off.mic.speak(1000);
    expect(off.onBargeIn).not.toHaveBeenCalled();

    const quiet = setup({ settings: { handsFree: false } });
    await quiet.controller.openMic();
    quiet.controller.sync(quiet.room({ phase: 'listening' }));
    quiet.mic.speak(1000);
    expect(quiet.onBargeIn).not.toHaveBeenCalled();

    const done = setup({ settings: { handsFree: false } });
    await done.controller.openMic();
    done.controller.sync(done.room({ phase: 'listening' }));
    done.controller.startRecording('button');
    done.mic.speak(500);
    await done.controller.stopRecording();
    done.controller.frame(transcriptFinal(done.link.uploadId));
    done.controller.sync(done.room({ phase: 'listening', speaking: true }));
    done.mic.speak(1000);
    expect(done.onBargeIn).not.toHaveBeenCalled();
  });
});

describe('VoiceController: the connection', () => {
  it('keeps recording through a drop and, on the next ready, resumes from where the server is', async () => {
    const { link, mic, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    controller.startRecording('button');
    mic.speak(1000);
    const id = link.uploadId;
    controller.frame(audioAck(id, 2));
    expect(link.take()).toEqual(['start', 'chunk 0', 'chunk 1', 'chunk 2', 'chunk 3']);

    link.ready = false;
    controller.linkDown();
    mic.speak(500);
    expect(link.take()).toEqual([]);
    link.ready = true;
    controller.linkUp();
    expect(link.take()).toEqual(['start']);
    expect(link.controls.at(-1)).toMatchObject({ type: 'audio.start', upload_id: id, turn: 0 });
    controller.frame(audioAck(id, 3)); // chunk 2 had arrived, its ack had not
    expect(link.take()).toEqual(['chunk 3', 'chunk 4', 'chunk 5']);
    await controller.stopRecording();
    expect(link.take()).toEqual(['end 6']);
  });

  it('asks for the transcript again when the socket dropped while it was being made', async () => {
    const { link, mic, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    controller.startRecording('button');
    mic.speak(500);
    await controller.stopRecording();
    const id = link.uploadId;
    controller.frame(audioAck(id, 2, true));
    link.take();
    controller.linkDown();
    controller.linkUp();
    controller.frame(audioAck(id, 2, true));
    expect(link.take()).toEqual(['start', 'end 2']);
    controller.frame(transcriptFinal(id));
    expect(controller.getSnapshot().draft?.uploadId).toBe(id);
  });

  it('paces a long backlog after a reconnect instead of sending it in one burst', async () => {
    const { link, mic, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    link.ready = false;
    controller.startRecording('button'); // the socket is down from the start
    mic.speak(40_000); // 160 chunks
    link.ready = true;
    controller.linkUp();
    controller.frame(audioAck(link.uploadId, 0));
    const first = link.take().filter((s) => s.startsWith('chunk'));
    expect(first.length).toBeGreaterThanOrEqual(90);
    expect(first.length).toBeLessThan(120); // about 24 s of audio at once, well under 30 s
    advance(10_000);
    const rest = link.take().filter((s) => s.startsWith('chunk'));
    expect(first.length + rest.length).toBe(160);
    expect(rest.at(-1)).toBe('chunk 159');
  });

  it('retries by itself, after a moment, when the server has too many uploads', async () => {
    const { link, mic, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    controller.startRecording('button');
    mic.speak(250);
    controller.frame(frameError({ code: 'too_many_uploads', message: 'Too many recordings right now', retryable: true }));
    expect(controller.getSnapshot().upload?.problem?.code).toBe('too_many_uploads');
    link.take();
    advance(1_500);
    expect(link.take()).toEqual(['start', 'chunk 0']);
    expect(controller.getSnapshot().upload?.problem).toBeNull();
  });

  it('lets go of the recording when its turn is over (time ran out, skipped, ended)', async () => {
    const { link, mic, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    controller.startRecording('button');
    mic.speak(500);
    controller.sync(room({ phase: 'asking', openTurn: 1, asking: true }));
    expect(controller.getSnapshot()).toMatchObject({ recording: false, upload: null });
    expect(mic.take).toBeNull();
    expect(link.take().at(-1)).toBe('cancel');
  });

  it('after a transcript whose recording expired, sends it as spoken without naming the recording', async () => {
    const { link, mic, submit, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    controller.startRecording('button');
    mic.speak(500);
    await controller.stopRecording();
    controller.frame(transcriptFinal(link.uploadId, { text: 'hello' }));
    controller.frame(frameError({ code: 'upload_not_found', message: 'recording x is not here; record the answer again' }));
    expect(controller.getSnapshot().notice).toMatch(/record the answer again/);
    controller.submit();
    expect(submit).toHaveBeenCalledWith('hello', { uploadId: null });
  });

  it('sends words typed into the box without a recording as typed', async () => {
    const { submit, controller, room } = setup({ settings: { handsFree: false } });
    await controller.openMic();
    controller.sync(room({}));
    controller.setDraftText('typed instead');
    controller.submit();
    expect(submit).toHaveBeenCalledWith('typed instead', null);
  });

  it('keeps the transcript across a reload', async () => {
    const storage = sessionStorage;
    const first = setup({ settings: { handsFree: false }, storage });
    await first.controller.openMic();
    first.controller.sync(first.room({}));
    first.controller.startRecording('button');
    first.mic.speak(500);
    await first.controller.stopRecording();
    first.controller.frame(transcriptFinal(first.link.uploadId, { text: 'kept' }));
    first.controller.dispose();

    const second = setup({ settings: { handsFree: false }, storage });
    expect(second.controller.getSnapshot().draft).toMatchObject({ text: 'kept', uploadId: first.link.uploadId });
    second.controller.sync(second.room({ phase: 'scoring', openTurn: null }));
    expect(second.controller.getSnapshot().draft).toBeNull();
  });
});

describe('VoiceController: the microphone', () => {
  it('reports why it could not open, and needs a click when the browser held audio back', async () => {
    const denied = new VoiceController({
      link: new FakeLink(),
      openMicrophone: () => Promise.reject(Object.assign(new Error('no'), { name: 'NotAllowedError' })),
      submit: () => true,
    });
    await denied.openMic();
    expect(denied.getSnapshot()).toMatchObject({ mic: 'failed', micProblem: 'denied' });

    const { mic, controller } = setup();
    mic.suspended = true;
    await controller.openMic();
    expect(controller.getSnapshot().mic).toBe('suspended');
    await controller.resumeMic();
    expect(controller.getSnapshot().mic).toBe('on');
  });
});
