// The example payloads of the contract (docs/webhooks.md), sent by Send Test. A test checks
// that they stay equal to the example blocks of docs/webhooks.md.
import type { IncomingPayload, PayloadType } from './payload.js';

export const EXAMPLE_PAYLOADS: { [T in PayloadType]: Extract<IncomingPayload, { type: T }> } = {
  session: {
    type: 'session',
    event_id: 1,
    session: {
      id: 'abc123xyz',
      direct_url: 'https://cdn.example.com/sessions/photo.jpg',
      site_url: 'https://photos.example.com/view/abc123xyz',
      type: 'still',
      device: {
        id: 42,
        name: 'iPad Pro - Main Booth',
        device_info: 'iOS 17.0',
      },
      still_template_id: 123,
      gif_template_id: 456,
    },
  },
  share: {
    type: 'share',
    event_id: 1,
    session: {
      id: 'abc123xyz',
      direct_url: 'https://cdn.example.com/sessions/photo.jpg',
      site_url: 'https://photos.example.com/view/abc123xyz',
      type: 'still',
    },
    share: {
      id: 'share789',
      type: 'email',
      value: 'guest@example.com',
    },
    data_capture: {
      sections: [
        {
          title: 'Contact Information',
          position: 0,
          fields: [
            {
              field_id: 'email_1',
              field_title: 'Email Address',
              field_type: 'email',
              value: 'guest@example.com',
              required: true,
            },
          ],
        },
      ],
    },
  },
  survey: {
    type: 'survey',
    event_id: 1,
    session: {
      id: 'abc123xyz',
      direct_url: 'https://cdn.example.com/sessions/photo.jpg',
      site_url: 'https://photos.example.com/view/abc123xyz',
      type: 'still',
    },
    survey: {
      completed_at: '2025-01-15T14:30:00+00:00',
      data_capture: {
        sections: [
          {
            title: 'Feedback',
            position: 0,
            fields: [
              {
                field_id: 'rating_1',
                field_title: 'How was your experience?',
                field_type: 'rating',
                value: '5',
                required: true,
              },
              {
                field_id: 'text_1',
                field_title: 'Any comments?',
                field_type: 'text',
                value: 'Had a great time!',
                required: false,
              },
            ],
          },
        ],
      },
    },
  },
  competition_win: {
    type: 'competition_win',
    event_id: 1,
    session: {
      id: 'abc123xyz',
      direct_url: 'https://cdn.example.com/sessions/photo.jpg',
      site_url: 'https://photos.example.com/view/abc123xyz',
      type: 'still',
    },
    competition: {
      id: 1,
      type: 'scratch',
    },
    prize_win: {
      id: 'win456',
      uuid: 'a1b2c3d4-e5f6-7890-abcd-ef1234567890',
      win_id: 'WIN001',
      date: '2025-01-15T14:30:00+00:00',
      valid: true,
      win_image_qr_url: 'https://cdn.example.com/prizes/qr/win456.png',
    },
    prize: {
      id: 1,
      name: 'Free Coffee',
      winning_text: "Congratulations! You've won a free coffee!",
      image_url: 'https://cdn.example.com/prizes/coffee.png',
      winning_image_url: 'https://cdn.example.com/prizes/coffee-winner.png',
    },
    winner: {
      type: 'email',
      value: 'guest@example.com',
    },
    data_capture: {
      sections: [],
    },
  },
};
