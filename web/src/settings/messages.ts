export const messages = {
  en: {
    title: 'Settings',
    timeZone: 'Time zone',
    followDevice: 'This device ({{zone}})',
    timeZoneHelp: 'Dates and times everywhere in the app are shown in this time zone.',
    now: 'Now there: {{time}}',
    saved: 'Saved.',
  },
  es: {
    title: 'Ajustes',
    timeZone: 'Zona horaria',
    followDevice: 'Este dispositivo ({{zone}})',
    timeZoneHelp: 'Las fechas y horas de toda la aplicación se muestran en esta zona horaria.',
    now: 'Ahora allí: {{time}}',
    saved: 'Guardado.',
  },
} as const;
