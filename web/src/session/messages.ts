export const messages = {
  en: {
    title: 'Sign in',
    subtitle: 'Your tasks, cases and team, in one place.',
    email: 'Email',
    password: 'Password',
    signIn: 'Sign in',
    signingIn: 'Signing in…',
    invalidCredentials: 'The email or the password is not right.',
    rateLimited: 'Too many failed attempts. Try again in {{minutes}} min.',
    offline: 'You are offline. Connect to sign in.',
  },
  es: {
    title: 'Iniciar sesión',
    subtitle: 'Tus tareas, casos y equipo, en un solo sitio.',
    email: 'Correo electrónico',
    password: 'Contraseña',
    signIn: 'Entrar',
    signingIn: 'Entrando…',
    invalidCredentials: 'El correo o la contraseña no son correctos.',
    rateLimited: 'Demasiados intentos fallidos. Vuelve a intentarlo en {{minutes}} min.',
    offline: 'Estás sin conexión. Conéctate para entrar.',
  },
} as const;
